/**
 * Every declared route, tried the way an attacker tries paths: in other letter cases,
 * with a trailing or doubled slash, with a letter percent-encoded, by a token of
 * every scope of its own team, of another team and of no team, with a bad token and
 * with none. The access decision on a variant must be the canonical path's, or a 404
 * (it matches no route), never more: a `write` token once created an admin token
 * through `POST /Tokens` because the router matched case-insensitively while the
 * access table compared raw paths.
 *
 * And the router is exactly the declarations: a route added any other way fails here.
 */
import { expect } from 'chai';
import { createApp } from '../../src/api/app.ts';
import { ENDPOINTS } from '../../src/api/endpoints/index.ts';
import { SCOPES, type Scope } from '../../src/domain/scopes.ts';
import { generateToken } from '../../src/auth/token-format.ts';
import { createToken } from '../../src/commands/tokens.ts';
import { createIntegrationKey } from '../../src/commands/integration-keys.ts';
import { EVERY_TEAM } from '../../src/domain/team-scope.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createServiceRow, createTeam, createUser, createWeeklySchedule } from '../support/factories.ts';
import { incidentIn } from '../support/fixtures.ts';
import type { Api } from '../support/http.ts';
import { insertOverride } from '../support/people.ts';

/** What admission decided: refused without a valid token, refused for scope, passed on to the endpoint, or no route at all. */
type Decision = 401 | 403 | 'passed' | 'no route';

function decisionOf(res: { status: number; body: unknown }): Decision {
  if (res.status === 401 || res.status === 403) return res.status;
  const code = (res.body as { code?: unknown } | undefined)?.code;
  if (res.status === 404 && code === 'route_not_found') return 'no route';
  return 'passed';
}

/** The shapes a path can be sent in that a lenient router would take for the canonical one. */
const VARIANTS: readonly [name: string, reshape: (path: string) => string][] = [
  ['upper case', (path) => path.toUpperCase()],
  ['first letter upper', (path) => path.replace(/^\/(\w)/, (_, c: string) => `/${c.toUpperCase()}`)],
  // A path ending in an id keeps its route: ids are taken in any letter case.
  ['last segment upper', (path) => path.replace(/\/([a-z][\w-]*)$/, (_, segment: string) => `/${segment.toUpperCase()}`)],
  ['trailing slash', (path) => `${path}/`],
  ['doubled slash', (path) => path.replace('/', '//')],
  ['a letter percent-encoded', (path) => path.replace(/\/([a-z])/, (_, c: string) => `/%${c.charCodeAt(0).toString(16)}`)],
];

interface Caller {
  name: string;
  api: Api;
  /** A valid token (so a variant may answer 404 instead of the canonical 401). */
  valid: boolean;
}

describe('every declared route, in every shape, by every caller', function () {
  this.timeout(120_000);
  let t: TestContext;
  const ids: Record<string, string> = {};
  const callers: Caller[] = [];

  before(async () => {
    t = await createTestContext();
    const ada = await createUser(t.pool, 'Ada');
    const own = await createTeam(t.pool, 'own team', [ada]);
    const other = await createTeam(t.pool, 'other team', []);
    const ownAdmin = t.api.as((await createToken(t.deps, { name: 'own admin', scopes: ['admin'], teamId: own, expiresAt: null }, { via: 'test' })).token);
    // The records the path ids name belong to the own team, made by its admin.
    const schedule = await createWeeklySchedule(ownAdmin, 'rotation', [ada]);
    await insertOverride(t.pool, schedule, ada);
    const override = (await t.pool.query<{ id: string }>('SELECT id FROM schedule_overrides')).rows[0]?.id ?? '';
    const policy = await ownAdmin.post('/escalation-policies', { name: 'policy', levels: [{ delay: '5m', targets: [{ type: 'user', id: ada }] }] });
    const service = await createServiceRow(t.pool, 'service', null);
    await t.ownerPool.query('UPDATE services SET team_id = $1 WHERE id = $2', [own, service]);
    const integrationKey = await createIntegrationKey(t.deps, EVERY_TEAM, { serviceId: service, name: 'alertmanager' }, 'test');
    const victim = await createToken(t.deps, { name: 'victim', scopes: ['read'], teamId: own, expiresAt: null }, { via: 'test' });
    Object.assign(ids, {
      incidents: await incidentIn(ownAdmin, 'ESCALATING'),
      schedules: schedule,
      overrides: override,
      'escalation-policies': String(policy.body.id),
      services: service,
      users: ada,
      teams: own,
      tokens: victim.record.id,
      'integration-keys': integrationKey.record.id,
    });

    const token = async (scopes: Scope[], teamId: string | null) =>
      t.api.as((await createToken(t.deps, { name: `${scopes.join('+')} ${teamId ?? 'org'}`, scopes, teamId, expiresAt: null }, { via: 'test' })).token);
    for (const scope of SCOPES) {
      callers.push({ name: `${scope} of the own team`, api: await token([scope], own), valid: true });
      callers.push({ name: `${scope} of another team`, api: await token([scope], other), valid: true });
      callers.push({ name: `${scope} of no team`, api: await token([scope], null), valid: true });
    }
    callers.push({ name: 'no token', api: t.api.as(null), valid: false });
    callers.push({ name: 'an unknown token', api: t.api.as(generateToken().token), valid: false });
  });
  after(() => t.close());

  /** The path with its ids filled in: the record of the own team of the kind the segment before it names. */
  function concrete(path: string): string {
    const kind = path.split('/')[1] ?? '';
    return path
      .replace(':overrideId', ids.overrides ?? '')
      .replace(':incidentId', ids.incidents ?? '')
      .replace(':id', ids[kind] ?? '');
  }

  const send = (api: Api, method: string, path: string) =>
    // A write carries an empty JSON object: refused by validation, or acted on when the body is optional.
    method === 'GET' ? api.get(path) : api.raw(method, path, { body: '{}', headers: { 'content-type': 'application/json' } });

  it('decides every variant as its canonical path, or answers 404: never more than the canonical path allows', async () => {
    let tried = 0;
    const seen = new Map<Decision, number>();
    for (const endpoint of ENDPOINTS) {
      const path = concrete(endpoint.path);
      for (const caller of callers) {
        // Variants first: were one of them to act, it must not have acted before the canonical request is judged.
        const variants = VARIANTS.map(([name, reshape]) => [name, reshape(path)] as const).filter(([, variant]) => variant !== path);
        const answers: [string, Decision][] = [];
        for (const [name, variant] of variants) answers.push([name, decisionOf(await send(caller.api, endpoint.method, variant))]);
        const canonical = decisionOf(await send(caller.api, endpoint.method, path));
        expect(canonical, `${endpoint.method} ${path} by ${caller.name}`).to.not.equal('no route');
        for (const [name, decision] of answers) {
          tried += 1;
          seen.set(decision, (seen.get(decision) ?? 0) + 1);
          const allowed: Decision[] = caller.valid ? [canonical, 'no route'] : [401];
          expect(allowed, `${endpoint.method} ${path} (${name}) by ${caller.name}: canonical ${canonical}`).to.include(decision);
        }
      }
    }
    const summary = `${ENDPOINTS.length} routes, ${VARIANTS.length} shapes, ${callers.length} callers: ${tried} variant requests, decisions ${JSON.stringify(Object.fromEntries(seen))}`;
    console.log(`      ${summary}`);
    expect(tried).to.be.greaterThan(ENDPOINTS.length * callers.length * 4);
  });

  it('the canonical decisions follow the declarations: 401 without a valid token, 403 without the scope or team rule', async () => {
    const tokens = callers.filter((caller) => caller.valid);
    for (const endpoint of ENDPOINTS) {
      const needed = endpoint.scope;
      if (needed === 'public') continue;
      const path = concrete(endpoint.path);
      for (const caller of callers.filter((c) => !c.valid)) {
        expect(decisionOf(await send(caller.api, endpoint.method, path)), `${endpoint.method} ${path} by ${caller.name}`).to.equal(401);
      }
      const decisions = await Promise.all(tokens.map(async (caller) => decisionOf(await send(caller.api, endpoint.method, path))));
      // Each scope's own-team, other-team and no-team tokens, in SCOPES order.
      SCOPES.forEach((scope, i) => {
        const [ownTeam, otherTeam, noTeam] = decisions.slice(i * 3, i * 3 + 3);
        const carries = needed === 'any' || scopeCarries(scope, needed);
        const where = `${endpoint.method} ${endpoint.path} with ${scope}`;
        expect(noTeam, `${where} of no team`).to.equal(carries ? 'passed' : 403);
        const teamAllowed = carries && endpoint.teams === 'any-team';
        expect(ownTeam, `${where} of the own team`).to.equal(teamAllowed ? 'passed' : 403);
        expect(otherTeam, `${where} of another team`).to.equal(teamAllowed ? 'passed' : 403);
      });
    }
  });

  it('serves exactly the declared routes: one router, made from the declarations, and nothing else answers', async () => {
    const app = createApp(t.deps);
    const routers = app.middleware
      .map((middleware) => (middleware as { router?: { stack: { path: string; methods: string[] }[] } }).router)
      .filter((router) => router !== undefined);
    expect(routers).to.have.lengthOf(1);
    const served = (routers[0]?.stack ?? []).flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((method) => `${method} ${layer.path}`));
    const declared = ENDPOINTS.map((endpoint) => `${endpoint.method} ${endpoint.path}`);
    expect(served.sort()).to.deep.equal([...declared].sort());
    expect(new Set(declared).size, 'no route is declared twice').to.equal(declared.length);
    // A path no declaration has answers 404 to a valid token: no middleware answers on its own.
    for (const path of ['/admin', '/tokens/x/y', '/incidents/x/y/z', '/v3/enqueue']) {
      const res = await t.api.get(path);
      expect(res.status, path).to.equal(404);
      expect(res.body.code, path).to.equal('route_not_found');
    }
  });
});

/** Whether a token with `held` may call an endpoint that needs `needed` (written apart from src/domain/scopes.ts). */
function scopeCarries(held: Scope, needed: Scope): boolean {
  const carried: Record<Scope, Scope[]> = { read: ['read'], write: ['write', 'read'], admin: ['admin', 'write', 'read', 'metrics'], metrics: ['metrics'] };
  return carried[held].includes(needed);
}
