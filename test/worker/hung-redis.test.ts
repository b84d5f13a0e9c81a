/**
 * A Redis that hangs with its connections open (SIGSTOP) costs the worker one command
 * deadline, not the length of the hang. Issue 10: "Redis hung (SIGSTOP for 6 s) under
 * load: nothing was executed while Redis hung (a worker logged `slow tick took_ms 5094
 * mode redis claimed 0`), escalations due then were up to 6.3 s late".
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import { type OwnWorker, executedOtherThanOnce, level1Lateness, ownWorker, seedEscalationsDueAt } from '../support/own-worker.ts';
import { type PrivateRedis, startPrivateRedis } from '../support/redis-server.ts';
import { waitFor } from '../support/waiting.ts';
import { TEST_WORKER_OPTIONS } from '../support/worker.ts';

/** The worker's REDIS_COMMAND_TIMEOUT. */
const DEADLINE_MS = 300;
const HANG_MS = 5_000;
/** Scheduling, a batch's transaction, the test's own Postgres writes on a busy test host. */
const MARGIN_MS = 250;

describe('a worker while Redis hangs (SIGSTOP) under traffic', function () {
  this.timeout(30_000);
  let server: PrivateRedis;
  let t: TestContext;
  let own: OwnWorker | undefined;
  let paused = false;
  before(async () => {
    server = await startPrivateRedis();
    t = await createTestContext({ redisUrl: server.url });
  });
  after(async () => {
    if (paused) server.resume();
    await own?.close();
    await t.close();
    await server.stop();
  });

  it('executes what falls due from Postgres within the deadline plus a degraded poll, each once, then goes back to Redis and rebuilds the index', async () => {
    // WORKER_SLOW_TICK as deployed: a tick that waited on the hung Redis would say so.
    own = await ownWorker(t, { commandTimeoutMs: DEADLINE_MS, options: { slowTickMs: 1_000 } });
    const { ticks } = own;
    await own.worker.start();
    await waitFor('the start-up rebuild', async () => ticks.length > 0 && (await t.redis.exists(t.keys.indexMarker)) === 1);

    // Indexed escalations falling due every 100 ms, through the hang and after it.
    const seededAt = Date.now();
    await seedEscalationsDueAt(
      t,
      Array.from({ length: 70 }, (_, i) => new Date(seededAt + 300 + i * 100)),
    );
    server.pause();
    paused = true;
    const pausedAt = Date.now();
    // Meanwhile the API keeps writing the truth to Postgres (its index updates fail):
    // an escalation due 150 ms later, every 100 ms.
    while (Date.now() - pausedAt < HANG_MS) {
      await seedEscalationsDueAt(t, [new Date(Date.now() + 150)], { index: false });
      await sleep(100);
    }
    server.resume();
    paused = false;
    const resumedAt = performance.now();

    await waitFor('every level-1 escalation executed', async () => (await level1Lateness(t.pool)).every((row) => row.status === 'EXECUTED'));
    const rows = await level1Lateness(t.pool);
    const dueDuringHang = rows.filter((row) => row.scheduledAt.getTime() > pausedAt && row.scheduledAt.getTime() < pausedAt + HANG_MS);
    expect(dueDuringHang.length, 'due while Redis hung').to.be.at.least(70);
    const worstMs = Math.max(...dueDuringHang.map((row) => row.latenessMs ?? Number.POSITIVE_INFINITY));
    expect(worstMs, 'the worst lateness of what fell due while Redis hung').to.be.at.most(DEADLINE_MS + TEST_WORKER_OPTIONS.degradedPollMs + MARGIN_MS);
    expect(
      rows.every((row) => (row.latenessMs ?? -1) >= 0),
      'nothing early',
    ).to.equal(true);
    expect(await executedOtherThanOnce(t.pool), 'executed other than once').to.deep.equal([]);
    expect(ticks.filter((tick) => tick.mode === 'degraded').length, 'ticks claiming from Postgres').to.be.greaterThan(0);

    // Redis answers again: back to it, and the index rebuilt from Postgres.
    await waitFor('a tick in Redis mode', () => ticks.some((tick) => tick.at > resumedAt && tick.mode === 'redis'));
    await waitFor('the rebuild after the hang', () =>
      t.logs.some((line) => line.message === 'reconciled the Redis index with Postgres' && line.reason === 'Redis returned'),
    );
    await own.worker.indexRebuilt();
    const pending = await t.pool.query<{ id: string; scheduled_at: Date }>(`SELECT id, scheduled_at FROM escalations WHERE status = 'PENDING'`);
    expect(pending.rowCount, 'the next levels').to.equal(rows.length);
    const index = await t.redis.zRangeWithScores(t.keys.pending, 0, -1);
    expect(index).to.have.deep.members(pending.rows.map((row) => ({ value: row.id, score: row.scheduled_at.getTime() })));
    expect(
      t.logs.filter((line) => line.message === 'slow tick'),
      'slow ticks',
    ).to.deep.equal([]);
  });
});
