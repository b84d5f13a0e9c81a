/**
 * Integration keys (issue 12): made for a service and shown once, listed by hint,
 * revoked at once in every API process (NOTIFY), scoped to the service's team, checked
 * field by field, audited; looked up for intake with a short-lived cache that honours
 * revocations and never turns a database outage into "unknown key"; limited per key by
 * its own rate; and never written to a log line or the audit log.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import type pg from 'pg';
import { IntegrationKeys, generateIntegrationKey } from '../../src/auth/integration-keys.ts';
import { FRESH_MS } from '../../src/auth/revocation-trust.ts';
import { listenForKeyRevocations } from '../../src/auth/revocations.ts';
import { createIntegrationKey, revokeIntegrationKey, takeIntakeBudget } from '../../src/commands/integration-keys.ts';
import { createToken } from '../../src/commands/tokens.ts';
import { createClient, createPool } from '../../src/db/pool.ts';
import type { Queryable } from '../../src/db/queries.ts';
import { isDatabaseUnavailable } from '../../src/db/unavailable.ts';
import { INTEGRATION_KEY_LENGTH, isIntegrationKeyShape } from '../../src/domain/integration-keys.ts';
import { EVERY_TEAM } from '../../src/domain/team-scope.ts';
import { holdsToken, redactTokens } from '../../src/domain/tokens.ts';
import { createRateLimiter } from '../../src/ratelimit/rate-limiter.ts';
import { createRedis } from '../../src/redis/client.ts';
import { APP_ROLE, type TestContext, createTestContext } from '../support/context.ts';
import { createServiceRow, createTeam } from '../support/factories.ts';
import type { Api } from '../support/http.ts';
import { waitFor } from '../support/waiting.ts';

type Json = Record<string, unknown>;
const KEY_SHAPE = /^klxr[a-z0-9]{28}$/;
const DEFAULTS = { ratePerMinute: 120, burst: 240 };

describe('integration keys', () => {
  let t: TestContext;
  let ownTeam: string;
  let otherTeam: string;
  /** A service of ownTeam. */
  let service: string;
  let ownWriter: Api;
  let otherWriter: Api;
  let ownReader: Api;

  before(async () => {
    t = await createTestContext();
    ownTeam = await createTeam(t.pool, 'own team', []);
    otherTeam = await createTeam(t.pool, 'other team', []);
    service = await createServiceRow(t.pool, 'checkout', null);
    await t.ownerPool.query('UPDATE services SET team_id = $1 WHERE id = $2', [ownTeam, service]);
    const token = async (name: string, scopes: ('read' | 'write')[], teamId: string) =>
      t.api.as((await createToken(t.deps, { name, scopes, teamId, expiresAt: null }, { via: 'test' })).token);
    ownWriter = await token('own writer', ['write'], ownTeam);
    otherWriter = await token('other writer', ['write'], otherTeam);
    ownReader = await token('own reader', ['read'], ownTeam);
  });
  after(() => t.close());

  const createKey = (body: Json, api: Api = t.api, serviceId = service) => api.post<Json>(`/services/${serviceId}/integration-keys`, body);

  async function newKey(body: Json = {}): Promise<{ key: string; id: string; body: Json }> {
    const res = await createKey({ name: 'alertmanager', ...body });
    expect(res.status, res.text).to.equal(201);
    return { key: String(res.body.key), id: String(res.body.id), body: res.body };
  }

  describe('create, list, revoke', () => {
    it('POST answers 201 with the key, once: 32 characters, klxr and [a-z0-9]; only its SHA-256 and hint are stored', async () => {
      const res = await createKey({ name: 'alertmanager prod' });
      expect(res.status, res.text).to.equal(201);
      const key = String(res.body.key);
      expect(key).to.match(KEY_SHAPE).and.have.length(INTEGRATION_KEY_LENGTH);
      expect(res.body).to.deep.equal({
        id: res.body.id,
        service_id: service,
        name: 'alertmanager prod',
        key_hint: key.slice(0, 8),
        rate_per_minute: null,
        rate_burst: null,
        signed: false,
        created_at: '2026-03-01T09:00:00.000Z',
        created_by: `token ${t.adminToken.slice(4, 16)} (test admin)`,
        revoked_at: null,
        revoked_by: null,
        key,
      });
      const { rows } = await t.ownerPool.query<{ key_hash: Buffer; key_hint: string }>('SELECT * FROM integration_keys WHERE id = $1', [res.body.id]);
      expect(rows[0]?.key_hash.equals(createHash('sha256').update(key).digest())).to.equal(true);
      // The key itself is nowhere in the row.
      expect(JSON.stringify(rows[0])).to.not.include(key.slice(8));
    });

    it('GET lists the keys by name with hints and `signed`, never a key, a hash or a signing secret; a read token may list', async () => {
      const secret = 'grafana secret 0123456789';
      const signed = await newKey({ name: 'Grafana', signing_secret: secret, rate_per_minute: 600, rate_burst: 50 });
      const plain = await newKey({ name: 'zabbix' });
      const res = await ownReader.get<{ items: Json[]; next_cursor: string | null }>(`/services/${service}/integration-keys?limit=100`);
      expect(res.status, res.text).to.equal(200);
      const byId = new Map(res.body.items.map((item) => [item.id, item]));
      const signedRecord = { ...signed.body };
      delete signedRecord.key;
      expect(byId.get(signed.id)).to.deep.equal(signedRecord);
      expect(byId.get(signed.id)).to.include({ signed: true, rate_per_minute: 600, rate_burst: 50 });
      expect(byId.get(plain.id)).to.include({ signed: false });
      for (const item of res.body.items) expect(item).to.not.have.any.keys('key', 'key_hash', 'signing_secret');
      for (const hidden of [signed.key, plain.key, secret, signed.key.slice(8)]) expect(res.text).to.not.include(hidden);
      const names = res.body.items.map((item) => String(item.name).toLowerCase());
      expect(names).to.deep.equal([...names].sort());
    });

    it('POST /integration-keys/:id/revoke answers the key revoked; again, the first revocation stays (time and who)', async () => {
      const { id } = await newKey({ name: 'to revoke' });
      t.clock.advance(1_000);
      const first = await ownWriter.post<Json>(`/integration-keys/${id}/revoke`);
      expect(first.status, first.text).to.equal(200);
      expect(first.body).to.include({ id, revoked_at: t.clock.now().toISOString() });
      expect(String(first.body.revoked_by)).to.match(/^token [a-z0-9]{12} \(own writer\)$/);
      t.clock.advance(60_000);
      const second = await t.api.post<Json>(`/integration-keys/${id}/revoke`);
      expect(second.status, second.text).to.equal(200);
      expect(second.body).to.deep.equal(first.body);
    });

    it("another team's token: 404 for the service's keys (list, create) and for revoking one, and nothing changes", async () => {
      const { id } = await newKey({ name: 'not theirs' });
      const list = await otherWriter.get(`/services/${service}/integration-keys`);
      expect([list.status, list.body.code]).to.deep.equal([404, 'not_found']);
      const create = await createKey({ name: 'sneaky' }, otherWriter);
      expect([create.status, create.body.code]).to.deep.equal([404, 'not_found']);
      const revoke = await otherWriter.post(`/integration-keys/${id}/revoke`);
      expect([revoke.status, revoke.body.code]).to.deep.equal([404, 'not_found']);
      const { rows } = await t.pool.query('SELECT name, revoked_at FROM integration_keys WHERE service_id = $1 AND (name = $2 OR id = $3)', [
        service,
        'sneaky',
        id,
      ]);
      expect(rows).to.deep.equal([{ name: 'not theirs', revoked_at: null }]);
      // Its own team's token may do all three.
      const own = await createKey({ name: 'theirs' }, ownWriter);
      expect(own.status, own.text).to.equal(201);
      expect((await ownWriter.post(`/integration-keys/${String(own.body.id)}/revoke`)).status).to.equal(200);
    });

    it('a read token may not create or revoke (403); an unknown service or key is 404', async () => {
      const { id } = await newKey({ name: 'read only' });
      expect((await createKey({ name: 'no' }, ownReader)).status).to.equal(403);
      expect((await ownReader.post(`/integration-keys/${id}/revoke`)).status).to.equal(403);
      const unknown = '00000000-0000-4000-8000-000000000000';
      expect((await createKey({ name: 'x' }, t.api, unknown)).status).to.equal(404);
      expect((await t.api.get(`/services/${unknown}/integration-keys`)).status).to.equal(404);
      expect((await t.api.post(`/integration-keys/${unknown}/revoke`)).status).to.equal(404);
    });

    it('writes an audit_log row for each create and revoke, in the transaction of the change', async () => {
      // Refused requests of the tests before are written in the background: let them land first.
      await t.deps.audit.idle();
      const before = Number((await t.ownerPool.query<{ n: string }>('SELECT count(*) AS n FROM audit_log')).rows[0]?.n);
      const { id } = await newKey({ name: 'audited' });
      await t.api.post(`/integration-keys/${id}/revoke`);
      await t.deps.audit.idle();
      const { rows } = await t.ownerPool.query<{ method: string; route: string; path: string; status: number }>(
        'SELECT method, route, path, status FROM audit_log ORDER BY id OFFSET $1',
        [before],
      );
      expect(rows).to.deep.equal([
        { method: 'POST', route: '/services/:id/integration-keys', path: `/services/${service}/integration-keys`, status: 201 },
        { method: 'POST', route: '/integration-keys/:id/revoke', path: `/integration-keys/${id}/revoke`, status: 200 },
      ]);
    });
  });

  describe('bad input: 400 naming the field and rule, nothing stored', () => {
    const cases: [what: string, body: unknown, field: string, rule: string][] = [
      ['no name', {}, 'name', 'required'],
      ['an empty name', { name: '' }, 'name', 'minLength'],
      ['a blank name', { name: '   ' }, 'name', 'pattern'],
      ['a name over 200 characters', { name: 'n'.repeat(201) }, 'name', 'maxLength'],
      ['a huge name', { name: 'n'.repeat(40_000) }, 'name', 'maxLength'],
      ['a name with a control character', { name: 'alert\u001b[31mmanager' }, 'name', 'pattern'],
      ['a numeric name', { name: 7 }, 'name', 'type'],
      ['a rate of 0', { name: 'k', rate_per_minute: 0 }, 'rate_per_minute', 'minimum'],
      ['a rate over 100,000', { name: 'k', rate_per_minute: 100_001 }, 'rate_per_minute', 'maximum'],
      ['a fractional rate', { name: 'k', rate_per_minute: 1.5 }, 'rate_per_minute', 'type'],
      ['a rate as a string', { name: 'k', rate_per_minute: '10' }, 'rate_per_minute', 'type'],
      ['a burst of 0', { name: 'k', rate_burst: 0 }, 'rate_burst', 'minimum'],
      ['a huge burst', { name: 'k', rate_burst: 1e12 }, 'rate_burst', 'maximum'],
      ['a signing secret under 16 characters', { name: 'k', signing_secret: 'short' }, 'signing_secret', 'minLength'],
      ['a signing secret over 200 characters', { name: 'k', signing_secret: 's'.repeat(201) }, 'signing_secret', 'maxLength'],
      ['a huge signing secret', { name: 'k', signing_secret: 's'.repeat(40_000) }, 'signing_secret', 'maxLength'],
      ['a signing secret with a line break', { name: 'k', signing_secret: 'sixteen chars ok\n' }, 'signing_secret', 'pattern'],
      ['a signing secret with a NUL', { name: 'k', signing_secret: 'sixteen chars ok\u0000' }, 'signing_secret', 'format'],
      ['a signing secret with a C1 control', { name: 'k', signing_secret: 'sixteen chars ok\u0085' }, 'signing_secret', 'pattern'],
      ['a key given by the caller', { name: 'k', key: 'klxr' + 'a'.repeat(28) }, 'key', 'additionalProperties'],
      ['an array', [], '(body)', 'type'],
    ];
    for (const [what, body, field, rule] of cases) {
      it(`${what}: 400 naming ${field} (${rule})`, async () => {
        const count = async () => Number((await t.pool.query<{ n: string }>('SELECT count(*) AS n FROM integration_keys')).rows[0]?.n);
        const before = await count();
        const res = await t.api.raw<Json>('POST', `/services/${service}/integration-keys`, {
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        });
        expect(res.status, res.text).to.equal(400);
        expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
        const errors = (res.body.errors as { field: string; rule: string }[]).map((e) => ({ field: e.field, rule: e.rule }));
        expect(errors, res.text).to.deep.include({ field, rule });
        expect(await count()).to.equal(before);
      });
    }

    it('the command refuses the same without the API (the CLI calls it)', async () => {
      const refused = async (input: Partial<Parameters<typeof createIntegrationKey>[2]>) =>
        createIntegrationKey(t.deps, EVERY_TEAM, { serviceId: service, name: 'k', ...input }, 'test').then(
          () => 'created',
          (error: { errors?: { field: string; rule: string }[] }) => error.errors?.map((e) => `${e.field} ${e.rule}`).join(', '),
        );
      expect(await refused({ name: ' ' })).to.equal('name length');
      expect(await refused({ name: 'a\tb' })).to.equal('name pattern');
      expect(await refused({ ratePerMinute: 0, rateBurst: 100_001 })).to.equal('rate_per_minute range, rate_burst range');
      expect(await refused({ signingSecret: 'x'.repeat(15) })).to.equal('signing_secret length');
      expect(await refused({ signingSecret: `${'x'.repeat(16)}\u007f` })).to.equal('signing_secret pattern');
    });
  });

  describe('IntegrationKeys.resolve: the lookup intake makes', () => {
    /** Monotonic milliseconds for the instances under test, moved by hand. */
    let monotonic = 0;
    const lookups = (db: Queryable = t.pool) => new IntegrationKeys(db, DEFAULTS, { monotonicNow: () => monotonic });

    it('finds a live key with its service, team and rate (the defaults filled in); null for unknown or revoked', async () => {
      const keys = lookups();
      const own = await newKey({ name: 'own rate', rate_per_minute: 30, rate_burst: 5, signing_secret: 'sixteen chars ok!' });
      const plain = await newKey({ name: 'default rate' });
      expect(await keys.resolve(own.key)).to.deep.equal({
        id: own.id,
        serviceId: service,
        teamId: ownTeam,
        name: 'own rate',
        hint: own.key.slice(0, 8),
        signingSecret: 'sixteen chars ok!',
        ratePerMinute: 30,
        rateBurst: 5,
      });
      expect(await keys.resolve(plain.key)).to.include({ ratePerMinute: 120, rateBurst: 240, signingSecret: null });
      expect(await keys.resolve(generateIntegrationKey().key)).to.equal(null);
      await revokeIntegrationKey(t.deps, EVERY_TEAM, plain.id, 'test');
      expect(await keys.resolve(plain.key)).to.equal(null);
    });

    it('does not look up a malformed key (no database call): wrong prefix, length, letter case', async () => {
      const { key } = await newKey({ name: 'shape' });
      const noDatabase: Queryable = {
        query: () => {
          throw new Error('a malformed key must not reach the database');
        },
      };
      const keys = lookups(noDatabase);
      for (const malformed of [key.toUpperCase(), key.slice(0, 31), `${key}0`, `klx_${key.slice(4)}`, `${key.slice(0, 31)}-`, '', ' '.repeat(32)]) {
        expect(isIntegrationKeyShape(malformed), malformed).to.equal(false);
        expect(await keys.resolve(malformed)).to.equal(null);
      }
    });

    it('a revocation through klaxon reaches another process listening (NOTIFY) at once, though it trusts the key from memory', async () => {
      const other = lookups();
      const heard: string[] = [];
      const listener = listenForKeyRevocations({
        connect: () => createClient({ databaseUrl: t.databaseUrl, applicationName: 'klaxon-test-key-revocations', role: APP_ROLE }),
        integrationKeys: {
          forget: (id) => {
            heard.push(id);
            other.forget(id);
          },
          revocationsHeard: (live) => other.revocationsHeard(live),
        },
        logger: t.deps.logger,
      });
      try {
        await waitFor('the listener to hear the channel', () => listener.isLive);
        const kept = await newKey({ name: 'kept' });
        const revoked = await newKey({ name: 'revoked elsewhere' });
        for (const { key } of [kept, revoked]) expect(await other.resolve(key)).to.not.equal(null);
        // Trusted from memory: a revocation nobody announces is not seen within FRESH_MS...
        await t.ownerPool.query("UPDATE integration_keys SET revoked_at = now(), revoked_by = 'by hand' WHERE id = $1", [kept.id]);
        monotonic += FRESH_MS;
        expect(await other.resolve(kept.key), 'trusted from memory').to.not.equal(null);
        // ...and is once the trust runs out.
        monotonic += 1;
        expect(await other.resolve(kept.key)).to.equal(null);
        // One through the API is heard at once, with the clock standing still.
        const before = await other.resolve(revoked.key);
        expect(before).to.not.equal(null);
        expect((await t.api.post(`/integration-keys/${revoked.id}/revoke`)).status).to.equal(200);
        await waitFor('the revocation to be heard', () => heard.includes(revoked.id));
        expect(await other.resolve(revoked.key)).to.equal(null);
      } finally {
        await listener.close();
      }
    });

    /** The pool, its reads counted; while held (hold()), a read waits until release(). */
    function countedPool() {
      let reads = 0;
      let gate: Promise<void> = Promise.resolve();
      let release = () => undefined as void;
      const db = {
        query: async (...args: unknown[]) => {
          reads += 1;
          await gate;
          return t.pool.query(...(args as [string]));
        },
      };
      return {
        db,
        reads: () => reads,
        hold: () => (gate = new Promise((resolve) => (release = resolve))),
        release: () => release(),
      };
    }

    it('requests for a key that is not in memory wait for one read, not one each (a start, a burst)', async () => {
      const { key, id } = await newKey({ name: 'one read' });
      const pool = countedPool();
      const keys = lookups(pool.db);
      keys.revocationsHeard(true);
      void pool.hold();
      const answers = Array.from({ length: 20 }, () => keys.resolve(key));
      pool.release();
      expect((await Promise.all(answers)).map((resolved) => resolved?.id)).to.deep.equal(Array.from({ length: 20 }, () => id));
      expect(pool.reads()).to.equal(1);
      // Settled: the next one after the trust runs out reads again.
      monotonic += FRESH_MS + 1;
      expect((await keys.resolve(key))?.id).to.equal(id);
      expect(pool.reads()).to.equal(2);
    });

    it('a key in use is read again in the background past half its trust: no request waits for it, and what it finds applies', async () => {
      const { key, id } = await newKey({ name: 'read ahead' });
      const pool = countedPool();
      const keys = lookups(pool.db);
      keys.revocationsHeard(true);
      expect((await keys.resolve(key))?.id).to.equal(id);
      monotonic += FRESH_MS / 2;
      expect((await keys.resolve(key))?.id).to.equal(id);
      expect(pool.reads(), 'half its trust: not yet').to.equal(1);
      await t.ownerPool.query("UPDATE integration_keys SET revoked_at = now(), revoked_by = 'by hand' WHERE id = $1", [id]);
      monotonic += 1;
      void pool.hold();
      // Answered from memory while the read in the background waits; one read, not one per request.
      for (let i = 0; i < 3; i += 1) expect((await keys.resolve(key))?.id).to.equal(id);
      expect(pool.reads()).to.equal(2);
      pool.release();
      await waitFor('the read in the background to find the key revoked', async () => (await keys.resolve(key)) === null);
    });

    it('a revocation heard while a read is in flight: the next request reads again instead of waiting for that read', async () => {
      const { key, id } = await newKey({ name: 'revoked while read' });
      const pool = countedPool();
      const keys = lookups(pool.db);
      keys.revocationsHeard(true);
      void pool.hold();
      const first = keys.resolve(key);
      await t.ownerPool.query("UPDATE integration_keys SET revoked_at = now(), revoked_by = 'by hand' WHERE id = $1", [id]);
      keys.forget(id);
      const second = keys.resolve(key);
      expect(pool.reads()).to.equal(2);
      pool.release();
      await first;
      expect(await second).to.equal(null);
    });

    it('the process that revokes forgets the key before it answers', async () => {
      const { key, id } = await newKey({ name: 'revoked here' });
      t.deps.integrationKeys.revocationsHeard(true);
      try {
        expect(await t.deps.integrationKeys.resolve(key)).to.not.equal(null);
        expect((await t.api.post(`/integration-keys/${id}/revoke`)).status).to.equal(200);
        expect(await t.deps.integrationKeys.resolve(key)).to.equal(null);
      } finally {
        t.deps.integrationKeys.revocationsHeard(false);
      }
    });

    describe('while Postgres is unreachable', () => {
      let dead: pg.Pool;
      before(() => {
        // A port nothing listens on: every query fails as it does when Postgres is down.
        const url = new URL(t.databaseUrl);
        url.host = '127.0.0.1:1';
        dead = createPool({ databaseUrl: url.toString(), applicationName: 'klaxon-test-dead', role: APP_ROLE, max: 1, logger: t.deps.logger });
        dead.on('error', () => undefined);
      });
      after(() => dead.end());

      /** A pool that is Postgres until `down` is set, then the dead one. */
      function switchable(): { db: Queryable; cut: () => void } {
        let down = false;
        const db = { query: (...args: unknown[]) => (down ? dead : t.pool).query(...(args as [string])) };
        return { db, cut: () => (down = true) };
      }

      const outcome = (keys: IntegrationKeys, key: string) =>
        keys.resolve(key).then(
          (resolved) => (resolved ? 'resolved' : 'null'),
          (error: unknown) => (isDatabaseUnavailable(error) ? 'database unavailable' : String(error)),
        );

      it('fails with the database-unavailable error, never null, for a key not fresh in memory', async () => {
        const { key } = await newKey({ name: 'outage' });
        const { db, cut } = switchable();
        const keys = lookups(db);
        cut();
        expect(await outcome(keys, key)).to.equal('database unavailable');
        expect(await outcome(keys, generateIntegrationKey().key)).to.equal('database unavailable');
        // A malformed key is still refused without asking anyone.
        expect(await outcome(keys, 'klxr-not-a-key')).to.equal('null');
      });

      it('answers a key looked up in the last FRESH_MS while revocations were heard, then fails like the rest', async () => {
        const { key } = await newKey({ name: 'cached' });
        const { db, cut } = switchable();
        const keys = lookups(db);
        keys.revocationsHeard(true);
        expect(await outcome(keys, key)).to.equal('resolved');
        cut();
        expect(await outcome(keys, key)).to.equal('resolved');
        monotonic += FRESH_MS + 1;
        expect(await outcome(keys, key)).to.equal('database unavailable');
      });

      it('without revocations heard, trusts nothing from memory: the outage shows at once', async () => {
        const { key } = await newKey({ name: 'not heard' });
        const { db, cut } = switchable();
        const keys = lookups(db);
        expect(await outcome(keys, key)).to.equal('resolved');
        cut();
        expect(await outcome(keys, key)).to.equal('database unavailable');
      });
    });
  });

  describe("each key's rate limit (takeIntakeBudget)", () => {
    it("takes from the key's own bucket by its own policy: a burst of 2 allows 2, then 429's retry-after; other keys are untouched", async () => {
      const small = await newKey({ name: 'small burst', rate_per_minute: 60, rate_burst: 2 });
      const plain = await newKey({ name: 'default burst' });
      const smallKey = await t.deps.integrationKeys.resolve(small.key);
      const plainKey = await t.deps.integrationKeys.resolve(plain.key);
      if (!smallKey || !plainKey) throw new Error('keys not found');
      const decisions = [];
      for (let i = 0; i < 3; i += 1) decisions.push(await takeIntakeBudget(t.deps, smallKey));
      expect(decisions.map((d) => [d.allowed, d.limit])).to.deep.equal([
        [true, 2],
        [true, 2],
        [false, 2],
      ]);
      expect(decisions[2]?.retryAfterMs).to.be.within(1, 1_000);
      const other = await takeIntakeBudget(t.deps, plainKey);
      expect(other).to.include({ allowed: true, limit: 240, remaining: 239 });
    });

    it('keeps limiting while Redis is down (in process memory), never throwing', async () => {
      const redis = createRedis({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 100, logger: t.deps.logger, name: 'klaxon-test-down' });
      const limiter = createRateLimiter({ redis, keys: t.keys, policy: DEFAULTS, logger: t.deps.logger });
      const key = { id: '5d6c7b8a-0000-4000-8000-000000000001', ratePerMinute: 1, rateBurst: 1 };
      const first = await takeIntakeBudget({ intakeRateLimiter: limiter }, key);
      const second = await takeIntakeBudget({ intakeRateLimiter: limiter }, key);
      expect([first.allowed, second.allowed, limiter.mode]).to.deep.equal([true, false, 'memory']);
      expect(second.retryAfterMs).to.be.greaterThan(59_000);
    });
  });

  describe('a key never reaches a log line nor the audit log', () => {
    it('redactTokens cuts a key anywhere in a text, in any letter case, to its hint', () => {
      const { key } = generateIntegrationKey();
      const hint = key.slice(0, 8);
      expect(redactTokens(`/integrations/alertmanager/${key}`)).to.equal(`/integrations/alertmanager/${hint}[redacted]`);
      expect(redactTokens(`/INTEGRATIONS/ALERTMANAGER/${key.toUpperCase()}?x=1`)).to.equal(`/INTEGRATIONS/ALERTMANAGER/${hint.toUpperCase()}[redacted]?x=1`);
      expect(redactTokens(`a ${key} and ${key}.`)).to.equal(`a ${hint}[redacted] and ${hint}[redacted].`);
      // An API token beside it is cut as before.
      const token = 'klx_abcdefghijkl_' + 'A'.repeat(43);
      expect(redactTokens(`${token} ${key}`)).to.equal(`klx_abcdefghijkl_[redacted] ${hint}[redacted]`);
      expect(holdsToken(key)).to.equal(true);
      // Text that is not a key stays.
      for (const text of ['klxr', 'klxrabc', `klxr${'a'.repeat(27)}`, 'the klxr prefix']) expect(redactTokens(text)).to.equal(text);
    });

    it('a request with a key in its path leaves only the hint in audit_log.path and in every log line', async () => {
      const { key } = await newKey({ name: 'in a path' });
      const before = t.logs.length;
      const sent = [`/integrations/alertmanager/${key}`, `/INTEGRATIONS/ALERTMANAGER/${key.toUpperCase()}`, `/services/${key}/integration-keys`];
      // With a token, so that each is audited whatever it gets (a write method).
      for (const path of sent) await t.api.raw('POST', path, { body: '{}', headers: { 'content-type': 'application/json' } });
      // A key where a request id goes is refused, and not kept either.
      const asId = await t.api.raw('POST', sent[0] as string, { body: '{}', headers: { 'content-type': 'application/json', 'x-request-id': `req-${key}` } });
      expect(asId.status).to.equal(400);
      await t.deps.audit.idle();
      const audited = (await t.ownerPool.query<{ path: string; request_id: string | null; client_request_id: string | null }>('SELECT * FROM audit_log')).rows;
      const secretPart = key.slice(8);
      for (const row of audited) expect(JSON.stringify(row).toLowerCase()).to.not.include(secretPart);
      const paths = audited.map((row) => row.path.toLowerCase());
      expect(paths.filter((path) => path.includes(`${key.slice(0, 8)}[redacted]`)).length, JSON.stringify(paths)).to.be.at.least(1);
      const lines = JSON.stringify(t.logs.slice(before)).toLowerCase();
      expect(lines).to.not.include(secretPart);
    });
  });
});
