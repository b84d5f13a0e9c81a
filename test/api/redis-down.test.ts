/**
 * Redis is only an index: with Redis down, the API still moves incidents and writes
 * the truth to Postgres, and says so in a warning.
 */
import { once } from 'node:events';
import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import { type PrivateRedis, startPrivateRedis } from '../support/redis-server.ts';

describe('with Redis down', () => {
  let redisServer: PrivateRedis;
  let t: TestContext;
  before(async () => {
    redisServer = await startPrivateRedis();
    t = await createTestContext({ redisUrl: redisServer.url });
  });
  after(async () => {
    await t.close();
    await redisServer.stop();
  });

  it('escalate still answers 200 and the level-1 row is PENDING in Postgres, with a warning logged', async () => {
    const created = await t.api.post('/incidents', { title: 'redis outage drill' });
    await redisServer.stop();

    const res = await t.api.post(`/incidents/${String(created.body.id)}/escalate`);
    expect(res.status).to.equal(200);
    expect(res.body.state).to.equal('ESCALATING');
    const rows = (await t.pool.query(`SELECT escalation_level, status FROM escalations WHERE incident_id = $1`, [created.body.id])).rows;
    expect(rows).to.deep.equal([{ escalation_level: 1, status: 'PENDING' }]);
    const warning = t.logs.find((line) => line.message === 'could not update the Redis pending index; the reconciler will repair it');
    expect(warning).to.include({ level: 'warn' });
    expect(warning?.request_id).to.equal(res.headers.get('x-request-id'));
  });

  it('acknowledge and opening with escalate: true also succeed, and /readyz answers 503 naming redis', async () => {
    const created = await t.api.post('/incidents', { title: 'still down', escalate: true });
    expect(created.status).to.equal(201);
    const ack = await t.api.post(`/incidents/${String(created.body.id)}/acknowledge`);
    expect(ack.status).to.equal(200);
    const rows = (await t.pool.query(`SELECT status FROM escalations WHERE incident_id = $1`, [created.body.id])).rows;
    expect(rows).to.deep.equal([{ status: 'CANCELLED' }]);

    const ready = await t.api.get('/readyz');
    expect(ready.status).to.equal(503);
    expect(ready.body).to.deep.include({ code: 'not_ready', detail: 'redis is down', checks: { postgres: 'up', redis: 'down' } });
  });

  it('once Redis is back, later escalations reach the index again', async () => {
    await redisServer.start();
    if (!t.redis.isReady) await once(t.redis, 'ready');
    const created = await t.api.post('/incidents', { title: 'after the outage', escalate: true });
    const [row] = (await t.pool.query<{ id: string }>(`SELECT id FROM escalations WHERE incident_id = $1`, [created.body.id])).rows;
    expect(await t.redis.zScore(t.keys.pending, String(row?.id))).to.be.a('number');
  });
});
