/**
 * Intake keeps working while Redis is down (issue 12): Postgres is the truth. Alerts
 * still open, deduplicate and resolve incidents, each key's rate still holds (per
 * process), and the escalations opened meanwhile reach the Redis index once the worker's
 * reconciler rebuilds it (test/worker covers that repair).
 */
import { expect } from 'chai';
import { createIntegrationKey } from '../../src/commands/integration-keys.ts';
import { EVERY_TEAM } from '../../src/domain/team-scope.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createPolicyVia, createServiceRow, createUser } from '../support/factories.ts';
import { type PrivateRedis, startPrivateRedis } from '../support/redis-server.ts';

describe('alert intake with Redis down', function () {
  this.timeout(30_000);
  let redisServer: PrivateRedis;
  let t: TestContext;
  let key: string;
  let limitedKey: string;
  let service: string;

  before(async () => {
    redisServer = await startPrivateRedis();
    t = await createTestContext({ redisUrl: redisServer.url });
    const ada = await createUser(t.pool, 'Ada');
    const policy = await createPolicyVia(t.api, { name: 'ops', levels: [{ delay: '0s', targets: [{ type: 'user', id: ada }] }] });
    service = await createServiceRow(t.pool, 'checkout', policy);
    key = (await createIntegrationKey(t.deps, EVERY_TEAM, { serviceId: service, name: 'prometheus' }, 'test')).key;
    limitedKey = (await createIntegrationKey(t.deps, EVERY_TEAM, { serviceId: service, name: 'chatty', ratePerMinute: 1, rateBurst: 2 }, 'test')).key;
    await redisServer.stop();
  });
  after(async () => {
    await t.close();
    await redisServer.stop();
  });

  const send = (routingKey: string, action: string, dedupKey: string) =>
    t.api.as(null).post('/v2/enqueue', {
      routing_key: routingKey,
      event_action: action,
      dedup_key: dedupKey,
      payload: { summary: `alert ${dedupKey}`, source: 'db-1', severity: 'error' },
    });

  it('opens, deduplicates and resolves incidents, all in Postgres', async () => {
    expect((await send(key, 'trigger', 'down-1')).status).to.equal(202);
    expect((await send(key, 'trigger', 'down-1')).status).to.equal(202);
    const { rows } = await t.ownerPool.query<{ id: string; state: string; alert_count: number }>(
      "SELECT id, state, alert_count FROM incidents WHERE dedup_key = 'down-1'",
    );
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ state: 'ESCALATING', alert_count: 2 });
    const { rows: pending } = await t.ownerPool.query('SELECT status FROM escalations WHERE incident_id = $1', [rows[0]?.id]);
    expect(pending).to.deep.equal([{ status: 'PENDING' }]);
    expect((await send(key, 'resolve', 'down-1')).status).to.equal(202);
    const { rows: after } = await t.ownerPool.query("SELECT state FROM incidents WHERE dedup_key = 'down-1'");
    expect(after).to.deep.equal([{ state: 'RESOLVED' }]);
  });

  it("still holds a key to its rate, in this process's memory", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await send(limitedKey, 'trigger', `limited-${i}`)).status);
    expect(statuses).to.deep.equal([202, 202, 429]);
  });
});
