/**
 * Nothing lost, nothing twice (DESIGN.md, invariants 1 and 2) when several workers
 * compete and when Redis loses its data or goes away.
 */
import { once } from 'node:events';
import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import { type PrivateRedis, startPrivateRedis } from '../support/redis-server.ts';
import { waitFor } from '../support/waiting.ts';
import { countByStatus, isolatedWorker, seedDueEscalations, workerFor } from '../support/worker.ts';

const MIN = 60_000;

describe('four workers on 1,000 due escalations', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  it('execute each exactly once', async () => {
    const ids = await seedDueEscalations(t, 1000, t.clock.now());
    const workers = await Promise.all([1, 2, 3, 4].map(() => isolatedWorker(t, { batchSize: 25 })));
    try {
      // Each worker ticks until it finds nothing; they run at the same time.
      const executedBy = await Promise.all(
        workers.map(async ({ worker }) => {
          let executed = 0;
          for (;;) {
            const summary = await worker.tick();
            executed += summary.executed;
            if (summary.claimed === 0) return executed;
          }
        }),
      );
      expect(executedBy.reduce((a, b) => a + b, 0)).to.equal(1000);
      expect(executedBy.filter((n) => n > 0).length, 'the work was shared').to.be.greaterThan(1);
    } finally {
      await Promise.all(workers.map(({ close }) => close()));
    }
    expect(await countByStatus(t.pool, 1)).to.deep.equal({ EXECUTED: 1000 });
    expect(await countByStatus(t.pool, 2)).to.deep.equal({ PENDING: 1000 });
    const perEscalation = await t.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM incident_events WHERE kind = 'escalated' GROUP BY details->>'escalation_id' HAVING count(*) <> 1`,
    );
    expect(perEscalation.rowCount, 'escalations with other than one escalated event').to.equal(0);
    const executedIds = await t.pool.query<{ id: string }>(`SELECT id FROM escalations WHERE status = 'EXECUTED'`);
    expect(executedIds.rows.map((row) => row.id)).to.have.members(ids);
    expect(await t.redis.zCard(t.keys.inflight)).to.equal(0);
  });
});

describe('Redis losing its data or going away', () => {
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

  it('after a FLUSHALL with escalations pending, they all still fire, and the index is rebuilt', async () => {
    const worker = workerFor(t);
    await worker.tick();
    await worker.indexRebuilt(); // started: the index is complete
    const due = await seedDueEscalations(t, 30, new Date(t.clock.now().getTime() + MIN));
    const later = await seedDueEscalations(t, 5, new Date(t.clock.now().getTime() + 60 * MIN));
    await t.redis.flushAll();

    t.clock.advance(MIN);
    const summary = await worker.tick();
    expect(summary.executed).to.equal(30);
    await worker.indexRebuilt();
    expect(await countByStatus(t.pool, 1)).to.deep.equal({ EXECUTED: 30, PENDING: 5 });
    // The rebuilt index holds the 5 later level-1 rows and the 30 new level-2 rows.
    expect(await t.redis.zCard(t.keys.pending)).to.equal(35);
    for (const id of later) expect(await t.redis.zScore(t.keys.pending, id)).to.be.a('number');
    expect(due).to.have.length(30);
    expect(t.logs.some((line) => line.message === 'reconciled the Redis index with Postgres' && line.reason === 'index marker missing')).to.equal(true);
  });

  it('with Redis stopped, escalations still fire (from Postgres), and go back through Redis when it returns', async () => {
    const worker = workerFor(t);
    await worker.tick();
    await worker.indexRebuilt();
    const ids = await seedDueEscalations(t, 10, new Date(t.clock.now().getTime() + MIN));
    await redisServer.stop();

    t.clock.advance(MIN);
    const degraded = await worker.tick();
    expect(degraded).to.include({ mode: 'degraded', executed: 10 });
    expect(t.logs.filter((line) => String(line.message).startsWith('Redis is unavailable: claiming escalations from Postgres')).length).to.equal(1);
    const [level2] = (
      await t.pool.query<{ id: string; scheduled_at: Date }>(
        `SELECT id, scheduled_at FROM escalations WHERE escalation_level = 2 AND incident_id = (SELECT incident_id FROM escalations WHERE id = $1)`,
        [ids[0]],
      )
    ).rows;

    // Still down: a second tick logs nothing new and executes nothing twice.
    expect(await worker.tick()).to.include({ mode: 'degraded', executed: 0 });

    await redisServer.start();
    if (!t.redis.isReady) await once(t.redis, 'ready');
    const back = await worker.tick();
    expect(back.mode).to.equal('redis');
    await worker.indexRebuilt();
    // Said once Redis has served a whole interval (1 s): a flapping Redis is one episode, not two lines a tick.
    await waitFor('the line saying Redis is back', () => t.logs.some((line) => line.message === 'Redis is back: claiming escalations from Redis again'));
    // The level-2 rows scheduled while Redis was down are in the index again.
    expect(await t.redis.zScore(t.keys.pending, String(level2?.id))).to.equal(level2?.scheduled_at.getTime());

    t.clock.set(level2?.scheduled_at ?? new Date());
    expect((await worker.tick()).mode).to.equal('redis');
    const ours = await t.pool.query<{ status: string }>(
      `SELECT DISTINCT status FROM escalations WHERE escalation_level = 2
       AND incident_id IN (SELECT incident_id FROM escalations WHERE id = ANY($1::uuid[]))`,
      [ids],
    );
    expect(ours.rows).to.deep.equal([{ status: 'EXECUTED' }]);
  });

  it('after Redis restarted with its data (a new run id), the worker rebuilds the index: what the restart lost comes back', async () => {
    const worker = workerFor(t);
    await worker.tick();
    await worker.indexRebuilt();
    const [kept, lost] = await seedDueEscalations(t, 2, new Date(t.clock.now().getTime() + MIN));
    const indexBefore = await t.redis.zRangeWithScores(t.keys.pending, 0, -1);
    const marker = await t.redis.get(t.keys.indexMarker);

    // A restart that kept its data but lost the last write (AOF everysec can): the
    // marker is there, one member is not. Only the new run id tells.
    await redisServer.stop();
    await redisServer.start();
    if (!t.redis.isReady) await once(t.redis, 'ready');
    await t.redis.zAdd(
      t.keys.pending,
      indexBefore.filter((m) => m.value !== lost),
    );
    await t.redis.set(t.keys.indexMarker, String(marker));

    await worker.tick();
    await worker.indexRebuilt();
    const reasons = t.logs.filter((line) => line.message === 'reconciled the Redis index with Postgres').map((line) => line.reason);
    expect(reasons).to.include('Redis restarted (run id changed)');
    expect(await t.redis.zScore(t.keys.pending, String(lost))).to.be.a('number');
    expect(await t.redis.zScore(t.keys.pending, String(kept))).to.be.a('number');
  });

  it('after Redis forgot its scripts (SCRIPT FLUSH), claims still work (EVALSHA falls back to EVAL)', async () => {
    const worker = workerFor(t);
    await worker.tick();
    await worker.indexRebuilt();
    await seedDueEscalations(t, 3, t.clock.now());
    await t.redis.scriptFlush();
    expect(await worker.tick()).to.include({ mode: 'redis', executed: 3 });
  });
});
