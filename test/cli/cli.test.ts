/**
 * The operators' CLI as a real process, against the test file's own database and
 * Redis keys, checked through the API and the tables. The CLI runs on real time (its
 * own Postgres clock), so the test clock is set to now.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { parseToken } from '../../src/domain/tokens.ts';
import { createToken } from '../../src/commands/tokens.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { finished, spawnKlaxon } from '../support/processes.ts';
import { seedDueEscalations } from '../support/worker.ts';

const ACTOR = `cli:${os.userInfo().username}`;
const TOKEN_SHAPE = /^klx_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/;

type Json = Record<string, unknown>;

function cli(t: TestContext, args: string[], env: Record<string, string> = {}) {
  const child = spawnKlaxon(t, 'src/cli/main.ts', args, env);
  return finished(child);
}

async function openIncident(t: TestContext, title: string, escalate = true): Promise<string> {
  const res = await t.api.post('/incidents', { title, severity: 'critical', escalate });
  expect(res.status, res.text).to.equal(201);
  return res.body.id as string;
}

describe('the klaxon CLI', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
    t.clock.set(new Date());
  });
  after(() => t.close());

  describe('token create', () => {
    it('prints a token that works against the API, once, and stores only a hash of its secret', async () => {
      const result = await cli(t, ['token', 'create', '--name', 'ci bot', '--scopes', 'read,write', '--expires-in', '90d']);
      expect(result.code, result.stderr).to.equal(0);
      const token = result.stdout.trim();
      expect(result.stdout).to.equal(`${token}\n`);
      expect(token).to.match(TOKEN_SHAPE);
      const { publicId, secret } = parseToken(token) ?? { publicId: '', secret: '' };
      expect(result.stderr).to.include(publicId).and.include('only this once').and.not.include(secret);

      expect((await t.api.as(token).get('/incidents')).status).to.equal(200);

      const { rows } = await t.ownerPool.query<{ row: string; public_id: string; secret_hash: Buffer; created_via: string; expires_at: Date }>(
        `SELECT row_to_json(api_tokens)::text AS row, public_id, secret_hash, created_via, expires_at FROM api_tokens`,
      );
      for (const row of rows) expect(row.row).to.not.include(secret);
      const stored = rows.find((row) => row.public_id === publicId);
      expect(stored?.secret_hash.equals(createHash('sha256').update(secret).digest())).to.equal(true);
      expect(stored?.created_via).to.equal(ACTOR);
      expect(Math.abs((stored?.expires_at.getTime() ?? 0) - (Date.now() + 90 * 86_400_000))).to.be.below(60_000);
    });

    it('--quiet prints only the token, for TOKEN=$(...)', async () => {
      const result = await cli(t, ['token', 'create', '--name', 'quiet', '--scopes', 'admin', '--quiet']);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^klx_[a-z0-9]{12}_[A-Za-z0-9_-]{43}\n$/);
      expect(result.stderr).to.equal('');
    });
  });

  it('token list shows the tokens, filtered by team on request, and never a secret', async () => {
    const team = await t.api.post('/teams', { name: 'payments' });
    expect(team.status, team.text).to.equal(201);
    const teamId = team.body.id as string;
    const make = (name: string, teamOf: string | null) => createToken(t.deps, { name, scopes: ['read'], teamId: teamOf, expiresAt: null }, { via: 'test' });
    const [teamToken, other] = [await make('payments bot', teamId), await make('org bot', null)];
    const [human, json, byTeam] = await Promise.all([
      cli(t, ['token', 'list']),
      cli(t, ['token', 'list', '--json', '--all-pages']),
      cli(t, ['token', 'list', '--team', teamId, '--json']),
    ]);
    for (const result of [human, json, byTeam]) {
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout + result.stderr).to.not.include('klx_');
    }
    expect(human.stdout.split('\n')[0]).to.match(/^ID\s+PUBLIC ID\s+NAME\s+SCOPES\s+TEAM\s+EXPIRES\s+REVOKED\s+LAST USED/);
    expect(human.stdout).to.include('payments bot').and.include('org bot').and.include(teamId);
    const items = (JSON.parse(json.stdout) as { items: Json[] }).items;
    expect(items.map((item) => item.public_id)).to.include.members([teamToken.record.publicId, other.record.publicId]);
    for (const item of items) expect(item).to.not.have.any.keys('secret_hash', 'token', 'secret');
    expect((JSON.parse(byTeam.stdout) as { items: Json[] }).items.map((item) => item.name)).to.deep.equal(['payments bot']);
  });

  it('token revoke, given the whole token, makes the API refuse it (401) without echoing it', async () => {
    const { token } = await createToken(t.deps, { name: 'leaked', scopes: ['write'], teamId: null, expiresAt: null }, { via: 'test' });
    expect((await t.api.as(token).get('/incidents')).status).to.equal(200);

    const revoked = await cli(t, ['token', 'revoke', token]);
    expect(revoked.code, revoked.stderr).to.equal(0);
    const publicId = token.slice(4, 16);
    expect(revoked.stdout).to.match(new RegExp(`^revoked token ${publicId} "leaked"`));
    expect(revoked.stdout + revoked.stderr).to.not.include(token);

    t.clock.set(new Date(Date.now() + 1_000)); // the API's clock, past the revocation
    expect((await t.api.as(token).get('/incidents')).status).to.equal(401);

    const again = await cli(t, ['token', 'revoke', publicId]);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.include('was already revoked');
  });

  it('token generate prints a valid token that is not stored', async () => {
    const result = await cli(t, ['token', 'generate'], { DATABASE_URL: '' });
    expect(result.code, result.stderr).to.equal(0);
    const token = result.stdout.trim();
    expect(token).to.match(TOKEN_SHAPE);
    expect(result.stderr).to.include('KLAXON_ADMIN_TOKEN').and.not.include(token);
    const { rows } = await t.pool.query(`SELECT 1 FROM api_tokens WHERE public_id = $1`, [parseToken(token)?.publicId]);
    expect(rows).to.have.length(0);
  });

  it('incidents list shows an incident opened through the API', async () => {
    const id = await openIncident(t, 'checkout 5xx above 5%');
    const [human, json] = await Promise.all([
      cli(t, ['incidents', 'list', '--state', 'escalating']),
      cli(t, ['incidents', 'list', '--json', '--limit', '200']),
    ]);
    expect(human.code, human.stderr).to.equal(0);
    expect(human.stdout).to.match(new RegExp(`^${id}\\s+ESCALATING\\s+critical\\s+0\\s+\\S+ \\S+\\s+checkout 5xx above 5%$`, 'm'));
    expect(json.code, json.stderr).to.equal(0);
    const listed = (JSON.parse(json.stdout) as { items: Json[] }).items.find((item) => item.id === id);
    expect(listed).to.include({ title: 'checkout 5xx above 5%', state: 'ESCALATING' });
  });

  it('incident ack acknowledges as cli:<user> and takes its pending escalation out of the Redis index', async () => {
    const id = await openIncident(t, 'disk 90% on db-2');
    const escalations = (await t.api.get(`/incidents/${id}/escalations`)).body.items as Json[];
    const pending = escalations.find((e) => e.status === 'PENDING')?.id as string;
    expect(await t.redis.zScore(t.keys.pending, pending)).to.not.equal(null);

    const result = await cli(t, ['incident', 'ack', id, '--note', 'looking at it']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.include(`incident ${id}`).and.include('is ACKNOWLEDGED');
    expect(result.stderr).to.equal('');

    expect((await t.api.get(`/incidents/${id}`)).body.state).to.equal('ACKNOWLEDGED');
    const events = (await t.api.get(`/incidents/${id}/events`)).body.items as Json[];
    expect(events.at(-1)).to.include({ kind: 'acknowledged', from_state: 'ESCALATING', to_state: 'ACKNOWLEDGED', actor: ACTOR, note: 'looking at it' });
    expect(await t.redis.zScore(t.keys.pending, pending)).to.equal(null);

    const shown = await cli(t, ['incident', 'show', id]);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout)
      .to.match(/^state\s+ACKNOWLEDGED \(version 3\)$/m)
      .and.match(new RegExp(`acknowledged\\s+ESCALATING\\s+ACKNOWLEDGED\\s+${ACTOR}`));
  });

  it('incident resolve without Redis still resolves, and says the reconciler repairs the index', async () => {
    const id = await openIncident(t, 'queue backlog');
    const result = await cli(t, ['incident', 'resolve', id], { REDIS_URL: '' });
    expect(result.code, result.stderr).to.equal(0);
    expect((await t.api.get(`/incidents/${id}`)).body.state).to.equal('RESOLVED');
    expect(result.stderr.trim().split('\n')).to.have.length(1);
    expect(result.stderr).to.match(/^note: REDIS_URL is not set; .*reconciler/);
  });

  it('refuses to acknowledge a RESOLVED incident: exit 1, one line naming the current and allowed states', async () => {
    const id = await openIncident(t, 'flapping check', false);
    expect((await t.api.post(`/incidents/${id}/resolve`, {})).status).to.equal(200);
    const result = await cli(t, ['incident', 'ack', id]);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.equal('');
    expect(result.stderr).to.equal('klaxon: cannot move an incident from RESOLVED to ACKNOWLEDGED; allowed from RESOLVED: none (terminal state)\n');
  });

  it('an unknown incident is one line and exit 1, not a stack trace', async () => {
    const result = await cli(t, ['incident', 'show', '00000000-0000-4000-8000-000000000000']);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.equal('klaxon: incident 00000000-0000-4000-8000-000000000000 does not exist\n');
  });

  it('exits 64 on unknown commands, unknown flags and bad values, before it needs a database', async function () {
    // Seven CLI processes at once, each loading TypeScript through tsx: seconds on a busy 2-core machine.
    this.timeout(60_000);
    const cases = [
      [],
      ['nope'],
      ['token', 'create', '--bogus'],
      ['token', 'create', '--name', 'x', '--scopes', 'root'],
      ['token', 'create', '--name', 'x', '--scopes', 'read', '--expires-in', '90'],
      ['incident', 'ack', 'not-a-uuid'],
      ['incidents', 'list', '--limit', '0'],
    ];
    const results = await Promise.all(cases.map((args) => cli(t, args, { DATABASE_URL: '' })));
    results.forEach((result, i) => {
      expect(result.code, `${cases[i]?.join(' ')}: ${result.stderr}`).to.equal(64);
      expect(result.stderr).to.match(/--help` for usage\.\n$/);
      expect(result.stderr).to.not.match(/^\s+at /m);
    });
  });

  it('--help works on every level and exits 0', async function () {
    this.timeout(60_000); // three CLI processes at once, as above
    const results = await Promise.all([['--help'], ['token', '--help'], ['incident', 'ack', '-h']].map((args) => cli(t, args, { DATABASE_URL: '' })));
    for (const result of results) {
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.include('Usage: klaxon');
    }
  });

  it('migrate on an up-to-date database succeeds and applies nothing', async () => {
    const result = await cli(t, ['migrate']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.equal('the database schema is up to date; nothing to apply\n');
  });
});

describe('klaxon stats', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
    t.clock.set(new Date());
  });
  after(() => t.close());

  it('prints the pending and overdue escalations and the index counts, as GET /stats does', async () => {
    await seedDueEscalations(t, 2, new Date(Date.now() - 90_000));
    await seedDueEscalations(t, 1, new Date(Date.now() + 3_600_000));
    const [human, json] = await Promise.all([cli(t, ['stats']), cli(t, ['stats', '--json'])]);
    expect(human.code, human.stderr).to.equal(0);
    expect(human.stdout)
      .to.match(/^pending\s+3$/m)
      .and.match(/^overdue\s+2$/m)
      .and.match(/^oldest overdue\s+1m \d+s ago$/m);
    expect(human.stdout).to.match(/^index pending\s+3$/m);
    expect(json.code, json.stderr).to.equal(0);
    const body = JSON.parse(json.stdout) as { escalations: Json; index: Json };
    expect(body.escalations).to.include({ pending: 3, overdue: 2 });
    expect(body.escalations.oldest_overdue_age_ms).to.be.within(90_000, 150_000);
    expect(body.index).to.deep.equal({ pending: 3, in_flight: 0, complete: false });
  });
});
