import { expect } from 'chai';
import { RedisQueue } from '../../src/engine/index/queue.ts';
import { Reconciler } from '../../src/engine/index/reconciler.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { seedDueEscalations, workerFor } from '../support/worker.ts';

describe('the reconciler', () => {
  let t: TestContext;
  let reconciler: Reconciler;
  beforeEach(async () => {
    t = await createTestContext();
    // A small page size, so these few rows take several keyset pages.
    reconciler = new Reconciler(t.pool, new RedisQueue(t.redis, t.keys), t.deps.logger, 7, t.clock);
  });
  afterEach(() => t.close());

  it('adds every PENDING row at its due time, page by page, and sets the index marker', async () => {
    const base = t.clock.now().getTime();
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(...(await seedDueEscalations(t, 5, new Date(base + i * 1000), { index: false })));
    const report = await reconciler.run('test');
    expect(report).to.include({ pendingRows: 25, added: 25, dropped: 0 });
    expect(await t.redis.zCard(t.keys.pending)).to.equal(25);
    expect(await t.redis.zScore(t.keys.pending, String(ids[24]))).to.equal(base + 4000);
    expect(await t.redis.exists(t.keys.indexMarker)).to.equal(1);
  });

  it('drops members whose rows are no longer PENDING, corrects wrong scores, and leaves claimed ids alone', async () => {
    const now = t.clock.now();
    const [cancelledId, wrongScoreId, claimedId] = await seedDueEscalations(t, 3, now);
    await t.pool.query(`UPDATE escalations SET status = 'CANCELLED', cancelled_at = now() WHERE id = $1`, [cancelledId]);
    await t.redis.zAdd(t.keys.pending, [
      { score: 1, value: String(wrongScoreId) },
      { score: 2, value: 'not-a-uuid' },
    ]);
    await t.redis.zRem(t.keys.pending, String(claimedId));
    await t.redis.zAdd(t.keys.inflight, { score: now.getTime() + 30_000, value: String(claimedId) });

    const report = await reconciler.run('test');
    expect(report).to.include({ dropped: 2 });
    expect(await t.redis.zRange(t.keys.pending, 0, -1)).to.deep.equal([wrongScoreId]);
    expect(await t.redis.zScore(t.keys.pending, String(wrongScoreId))).to.equal(now.getTime());
    expect(await t.redis.zScore(t.keys.inflight, String(claimedId))).to.be.a('number');
  });

  it('lets only one process rebuild at a time', async () => {
    await seedDueEscalations(t, 3, t.clock.now(), { index: false });
    const other = new Reconciler(t.pool, new RedisQueue(t.redis, t.keys), t.deps.logger, 7, t.clock);
    const reports = await Promise.all([reconciler.run('a'), other.run('b')]);
    expect(reports.filter((report) => report === null)).to.have.length(1);
    expect(await t.redis.exists(t.keys.reconcileLock)).to.equal(0);
  });
});

describe('the periodic rebuild of the index', () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await createTestContext();
  });
  afterEach(() => t.close());

  const rebuilds = () => t.logs.filter((line) => line.message === 'reconciled the Redis index with Postgres').map((line) => line.reason);

  it('runs every RECONCILE_INTERVAL by the injected clock, not the host clock', async () => {
    const worker = workerFor(t, { reconcileIntervalMs: 60_000 });
    await worker.tick();
    await worker.indexRebuilt();
    expect(rebuilds()).to.deep.equal(['worker start']);
    t.clock.advance(59_999);
    await worker.tick();
    await worker.indexRebuilt();
    expect(rebuilds(), 'not before the interval').to.deep.equal(['worker start']);
    t.clock.advance(1);
    await worker.tick();
    await worker.indexRebuilt();
    expect(rebuilds(), 'an interval after the last, though no real time passed').to.deep.equal(['worker start', 'periodic']);
  });
});
