import { expect } from 'chai';
import { ENDPOINTS } from '../../src/api/endpoints/index.ts';
import { requiredScope } from '../../src/api/endpoint.ts';
import { buildOpenApiDocument, openApiPath } from '../../src/api/openapi.ts';
import { generateToken } from '../../src/auth/token-format.ts';
import { createToken, ensureEnvironmentToken } from '../../src/commands/tokens.ts';
import type { Scope } from '../../src/domain/scopes.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createTeam } from '../support/factories.ts';
import { del } from '../support/people.ts';

type Json = Record<string, unknown>;

describe('authentication and scopes', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(async () => t.close());

  async function tokenWith(scopes: Scope[], teamId: string | null = null, expiresAt: Date | null = null): Promise<string> {
    return (await createToken(t.deps, { name: `token ${scopes.join('+')}`, scopes, teamId, expiresAt }, { via: 'test' })).token;
  }

  async function incidentCount(): Promise<number> {
    const { rows } = await t.ownerPool.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents');
    return rows[0]?.n ?? -1;
  }

  describe('without a token', () => {
    it('every documented operation but the health probes answers 401 unauthenticated, with WWW-Authenticate', async () => {
      const doc = buildOpenApiDocument(ENDPOINTS) as { paths: Record<string, Record<string, Json>> };
      let checked = 0;
      for (const [path, operations] of Object.entries(doc.paths)) {
        for (const method of Object.keys(operations)) {
          const concrete = path.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000');
          const res = await t.api.as(null).raw(method.toUpperCase(), concrete, {});
          if (path === '/healthz' || path === '/readyz') {
            expect(res.status, `${method} ${path}`).to.be.oneOf([200, 503]);
            continue;
          }
          // Documented as needing no token (the inbound notification callbacks: their credential is a signature).
          if ((operations[method] as { security?: unknown[] }).security?.length === 0) {
            expect(res.status, `${method} ${path}`).to.not.equal(401);
            continue;
          }
          expect(res.status, `${method} ${path}`).to.equal(401);
          expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
          expect(res.body.code).to.equal('unauthenticated');
          expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="klaxon"');
          checked += 1;
        }
      }
      expect(checked).to.be.greaterThan(40);
    });

    it('an unknown route answers 401 too, so routes cannot be probed without a token', async () => {
      const res = await t.api.as(null).get('/no-such-route');
      expect(res.status).to.equal(401);
    });

    it('stores nothing: a POST /incidents without a token leaves the table as it was', async () => {
      const before = await incidentCount();
      const res = await t.api.as(null).post('/incidents', { title: 'no token' });
      expect(res.status).to.equal(401);
      expect(await incidentCount()).to.equal(before);
    });
  });

  describe('with a bad token', () => {
    const cases: [string, string][] = [
      ['another scheme', 'Basic dXNlcjpwYXNz'],
      ['Bearer and nothing', 'Bearer '],
      ['not a klaxon token', 'Bearer abc.def.ghi'],
      ['a token with its secret cut short', `Bearer ${generateToken().token.slice(0, -1)}`],
    ];
    for (const [name, header] of cases) {
      it(`${name}: 401 invalid_token`, async () => {
        const res = await t.api.raw('GET', '/incidents', { headers: { authorization: header } });
        expect(res.status).to.equal(401);
        expect(res.body.code).to.equal('invalid_token');
        expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="klaxon", error="invalid_token"');
      });
    }

    it('a well-formed token nobody issued: 401 invalid_token', async () => {
      const res = await t.api.as(generateToken().token).get('/incidents');
      expect(res.status).to.equal(401);
      expect(res.body.detail).to.equal('the token is not valid');
    });

    it('the public id of a real token with another secret: 401', async () => {
      const real = await tokenWith(['read']);
      const forged = `${real.slice(0, 'klx_'.length + 13)}${generateToken().secret}`;
      expect(forged).to.not.equal(real);
      expect((await t.api.as(real).get('/incidents')).status).to.equal(200);
      expect((await t.api.as(forged).get('/incidents')).status).to.equal(401);
    });

    it('takes the scheme in any letter case (RFC 7235)', async () => {
      const token = await tokenWith(['read']);
      const res = await t.api.raw('GET', '/incidents', { headers: { authorization: `bearer ${token}` } });
      expect(res.status).to.equal(200);
    });
  });

  describe('scopes', () => {
    it('read: reads, and a write is 403 insufficient_scope naming write, storing nothing', async () => {
      const api = t.api.as(await tokenWith(['read']));
      expect((await api.get('/incidents')).status).to.equal(200);
      const before = await incidentCount();
      const res = await api.post('/incidents', { title: 'read-only caller' });
      expect(res.status).to.equal(403);
      expect(res.body).to.include({ code: 'insufficient_scope', required_scope: 'write' });
      expect(res.headers.get('www-authenticate')).to.include('error="insufficient_scope"');
      expect(await incidentCount()).to.equal(before);
    });

    it('write: opens and acknowledges incidents, but may not manage people, teams or tokens, nor read metrics', async () => {
      const api = t.api.as(await tokenWith(['write']));
      const opened = await api.post('/incidents', { title: 'writer' });
      expect(opened.status).to.equal(201);
      expect((await api.post(`/incidents/${String(opened.body.id)}/acknowledge`)).status).to.equal(200);
      expect((await api.post('/users', { name: 'Ada', email: 'ada@example.com' })).status).to.equal(403);
      expect((await api.post('/teams', { name: 'ops' })).status).to.equal(403);
      expect((await api.get('/tokens')).status).to.equal(403);
      expect((await api.get('/metrics')).status).to.equal(403);
      expect((await api.get('/stats')).status).to.equal(403);
      // People and teams are readable by all.
      expect((await api.get('/users')).status).to.equal(200);
    });

    it('metrics: /metrics and /stats, and nothing else', async () => {
      const api = t.api.as(await tokenWith(['metrics']));
      expect((await api.get('/metrics')).status).to.equal(200);
      expect((await api.get('/stats')).status).to.equal(200);
      expect((await api.get('/incidents')).status).to.equal(403);
    });

    it('any valid token reads the API description', async () => {
      const api = t.api.as(await tokenWith(['metrics']));
      expect((await api.get('/openapi.json')).status).to.equal(200);
      expect((await api.get('/docs')).status).to.equal(200);
    });

    it('the declarations and the OpenAPI document agree on every operation', () => {
      const doc = buildOpenApiDocument(ENDPOINTS) as { paths: Record<string, Record<string, Json>> };
      for (const endpoint of ENDPOINTS) {
        const op = doc.paths[openApiPath(endpoint.path)]?.[endpoint.method.toLowerCase()] as Json;
        const where = `${endpoint.method} ${endpoint.path}`;
        if (endpoint.scope === 'public') expect(op.security, where).to.deep.equal([]);
        else expect(op['x-required-scope'], where).to.equal(requiredScope(endpoint));
      }
      expect(openApiPath('/tokens/:id')).to.equal('/tokens/{id}');
    });
  });

  describe('tokens through the API', () => {
    it('POST /tokens answers the token once (no-store), and it works; reads never show it or its hash', async () => {
      const res = await t.api.post('/tokens', { name: 'pager bridge', scopes: ['write'] });
      expect(res.status).to.equal(201);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      const token = res.body.token as string;
      expect(token).to.match(/^klx_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
      expect(res.body).to.include({ name: 'pager bridge', team_id: null, revoked_at: null, expires_at: null, created_via: 'api' });
      expect(token.slice(4, 16)).to.equal(res.body.public_id);

      expect((await t.api.as(token).post('/incidents', { title: 'from the bridge' })).status).to.equal(201);
      const read = await t.api.get(`/tokens/${String(res.body.id)}`);
      expect(read.body).to.not.have.property('token');
      expect(read.body).to.not.have.property('secret_hash');
      expect(read.text).to.not.include(token.slice(17));
      const list = await t.api.get('/tokens');
      expect(list.text).to.not.include(token.slice(17));
    });

    it('stores only a hash: the secret appears nowhere in the table', async () => {
      const { token } = await createToken(t.deps, { name: 'stored?', scopes: ['read'], teamId: null, expiresAt: null }, { via: 'test' });
      const secret = token.slice(17);
      const { rows } = await t.ownerPool.query<{ dump: string }>("SELECT string_agg(t::text || encode(secret_hash, 'escape'), ' ') AS dump FROM api_tokens t");
      expect(rows[0]?.dump).to.not.include(secret);
    });

    it('DELETE revokes at once: the next request is 401 revoked; the token stays listed with revoked_at; twice is harmless', async () => {
      const created = await t.api.post('/tokens', { name: 'to revoke', scopes: ['read'] });
      const token = created.body.token as string;
      const id = created.body.id as string;
      expect((await t.api.as(token).get('/incidents')).status).to.equal(200);
      expect((await del(t.api, `/tokens/${id}`)).status).to.equal(204);
      const refused = await t.api.as(token).get('/incidents');
      expect(refused.status).to.equal(401);
      expect(refused.body.detail).to.equal('the token has been revoked');
      const read = await t.api.get(`/tokens/${id}`);
      expect(read.body.revoked_at).to.equal(t.clock.now().toISOString());
      expect((await del(t.api, `/tokens/${id}`)).status).to.equal(204);
    });

    it('expires: accepted until expires_at, 401 expired from then on (the injected clock)', async () => {
      const expiresAt = new Date(t.clock.now().getTime() + 3_600_000);
      const created = await t.api.post('/tokens', { name: 'an hour', scopes: ['read'], expires_at: expiresAt.toISOString() });
      expect(created.status).to.equal(201);
      const api = t.api.as(created.body.token as string);
      t.clock.advance(3_599_999);
      expect((await api.get('/incidents')).status).to.equal(200);
      t.clock.advance(1);
      const res = await api.get('/incidents');
      expect(res.status).to.equal(401);
      expect(res.body.detail).to.equal('the token has expired');
    });

    it('refuses bad bodies, naming the field: no scopes, an unknown scope, an expiry in the past, an unknown team', async () => {
      const cases: [Json, string, number][] = [
        [{ name: 'x' }, 'scopes', 400],
        [{ name: 'x', scopes: [] }, 'scopes', 400],
        [{ name: 'x', scopes: ['root'] }, 'scopes.0', 400],
        [{ name: 'x', scopes: ['read'], expires_at: '2000-01-01T00:00:00Z' }, 'expires_at', 400],
        [{ name: 'x', scopes: ['read'], team_id: '00000000-0000-4000-8000-000000000000' }, 'team_id', 422],
        [{ name: 'x', scopes: ['read'], secret: 'mine' }, 'secret', 400],
      ];
      for (const [body, field, status] of cases) {
        const res = await t.api.post('/tokens', body);
        expect(res.status, JSON.stringify(body)).to.equal(status);
        expect(
          (res.body.errors as { field: string }[]).map((e) => e.field),
          JSON.stringify(body),
        ).to.include(field);
      }
    });

    it('records when a token was last used, at most once a minute', async () => {
      const created = await t.api.post('/tokens', { name: 'used', scopes: ['read'] });
      const id = created.body.id as string;
      await t.api.as(created.body.token as string).get('/incidents');
      const waitForUse = async () => {
        for (let i = 0; i < 100; i += 1) {
          const read = await t.api.get(`/tokens/${id}`);
          if (read.body.last_used_at !== null) return read.body.last_used_at;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return null;
      };
      expect(await waitForUse()).to.equal(t.clock.now().toISOString());
    });
  });

  describe("a team's admin token", () => {
    let teamA: string;
    let teamB: string;
    let adminA: string;
    before(async () => {
      teamA = await createTeam(t.ownerPool, 'auth team A', []);
      teamB = await createTeam(t.ownerPool, 'auth team B', []);
      adminA = await tokenWith(['admin'], teamA);
    });

    it("makes tokens of its own team only; another team's id is an unknown reference", async () => {
      const api = t.api.as(adminA);
      const own = await api.post('/tokens', { name: 'A reader', scopes: ['read'] });
      expect(own.status).to.equal(201);
      expect(own.body.team_id).to.equal(teamA);
      const other = await api.post('/tokens', { name: 'B reader', scopes: ['read'], team_id: teamB });
      expect(other.status).to.equal(422);
      expect(other.body.code).to.equal('reference_not_found');
    });

    it("sees and revokes its team's tokens only: another team's token is 404", async () => {
      const tokenB = await t.api.post('/tokens', { name: 'B token', scopes: ['read'], team_id: teamB });
      const api = t.api.as(adminA);
      const listed = (await api.get('/tokens?limit=200')).body.items as Json[];
      expect(listed.every((item) => item.team_id === teamA)).to.equal(true);
      expect((await api.get(`/tokens/${String(tokenB.body.id)}`)).status).to.equal(404);
      expect((await del(api, `/tokens/${String(tokenB.body.id)}`)).status).to.equal(404);
      expect((await t.api.as(tokenB.body.token as string).get('/incidents')).status).to.equal(200);
    });

    it('may not change people or teams (shared by every team): 403', async () => {
      const api = t.api.as(adminA);
      const res = await api.post('/users', { name: 'Grace', email: 'grace@example.com' });
      expect(res.status).to.equal(403);
      expect(res.body.required_scope).to.equal('organisation-admin');
      expect((await api.post('/teams', { name: 'new team' })).status).to.equal(403);
    });

    it('may not make an organisation-wide token: team_id null is 422 team_not_allowed, not a token of its team', async () => {
      const before = (await t.ownerPool.query('SELECT count(*) AS n FROM api_tokens')).rows[0] as { n: string };
      const res = await t.api.as(adminA).post('/tokens', { name: 'org-wide?', scopes: ['read'], team_id: null });
      expect(res.status, res.text).to.equal(422);
      expect(res.body.code).to.equal('team_not_allowed');
      expect(res.body.errors).to.deep.include({
        field: 'team_id',
        rule: 'organisation',
        message: "a team's token makes its own team's records: leave team_id out, or use an organisation-wide token",
      });
      expect((await t.ownerPool.query('SELECT count(*) AS n FROM api_tokens')).rows[0]).to.deep.equal(before);
    });

    it('sees its own team and no other', async () => {
      const api = t.api.as(adminA);
      expect((await api.get(`/teams/${teamA}`)).status).to.equal(200);
      expect((await api.get(`/teams/${teamB}`)).status).to.equal(404);
      const names = ((await api.get('/teams')).body.items as Json[]).map((team) => team.id);
      expect(names).to.deep.equal([teamA]);
    });
  });

  describe('the admin token from the environment (KLAXON_ADMIN_TOKEN)', () => {
    it('is stored once, works, stays revoked when revoked, and a malformed or clashing one is refused', async () => {
      const { token, publicId } = generateToken();
      expect(await ensureEnvironmentToken(t.deps, token)).to.equal('created');
      expect(await ensureEnvironmentToken(t.deps, token)).to.equal('present');
      const api = t.api.as(token);
      expect((await api.get('/tokens')).status).to.equal(200);
      const id = ((await api.get('/tokens?limit=200')).body.items as Json[]).find((item) => item.public_id === publicId)?.id as string;
      expect((await del(api, `/tokens/${id}`)).status).to.equal(204);
      expect(await ensureEnvironmentToken(t.deps, token)).to.equal('revoked');
      expect((await api.get('/tokens')).status).to.equal(401);

      const clash = `klx_${publicId}_${generateToken().secret}`;
      let error: unknown;
      await ensureEnvironmentToken(t.deps, clash).catch((e: unknown) => (error = e));
      expect(String(error)).to.include('public id of another stored token');
      error = undefined;
      await ensureEnvironmentToken(t.deps, 'not-a-token').catch((e: unknown) => (error = e));
      expect(String(error)).to.include('not a klaxon token');
    });
  });
});
