/**
 * A rebuild of the index that fails is retried with capped, jittered exponential
 * backoff, not on every tick; meanwhile the worker drains Postgres on every tick, so
 * nothing waits for the rebuild. Issue 10: "each worker logged 'rebuilding the Redis
 * index failed; retrying on the next tick' dozens of times a second".
 */
import { expect } from 'chai';
import { backoffMs } from '../../src/clock/deadline.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { type OwnWorker, level1Lateness, ownWorker, seedEscalationsDueAt } from '../support/own-worker.ts';
import { type PrivateRedis, startPrivateRedis } from '../support/redis-server.ts';
import { waitFor } from '../support/waiting.ts';

describe('backoffMs: doubling, capped, jittered down to half', () => {
  const policy = { baseMs: 500, capMs: 30_000 };
  const cases: [failures: number, fewestMs: number, mostMs: number][] = [
    [1, 250, 500],
    [2, 500, 1_000],
    [3, 1_000, 2_000],
    [6, 8_000, 16_000],
    [7, 15_000, 30_000],
    [50, 15_000, 30_000],
    [10_000, 15_000, 30_000],
  ];
  for (const [failures, fewestMs, mostMs] of cases) {
    it(`after ${failures} failure(s): ${fewestMs} to ${mostMs} ms`, () => {
      expect(backoffMs(failures, policy, () => 0)).to.equal(fewestMs);
      expect(backoffMs(failures, policy, () => 1)).to.equal(mostMs);
      expect(backoffMs(failures, policy)).to.be.within(fewestMs, mostMs);
    });
  }
});

describe('a worker whose index rebuilds fail (Redis out of memory: reads work, writes are refused)', function () {
  this.timeout(30_000);
  let server: PrivateRedis;
  let t: TestContext;
  let own: OwnWorker | undefined;
  before(async () => {
    server = await startPrivateRedis();
    t = await createTestContext({ redisUrl: server.url });
  });
  after(async () => {
    await own?.close();
    await t.close();
    await server.stop();
  });

  /** Rebuild attempts so far: each starts by taking the rebuild lock with a SET, the only SET a worker sends. */
  async function rebuildAttempts(): Promise<number> {
    const stats = await t.redis.info('commandstats');
    const line = /^cmdstat_set:(.*)$/m.exec(stats)?.[1] ?? '';
    const field = (name: string) => Number(new RegExp(`${name}=(\\d+)`).exec(line)?.[1] ?? 0);
    return field('calls') + field('rejected_calls');
  }

  it('retries the rebuild with backoff while claims keep working, executes what is due from Postgres meanwhile, and rebuilds once Redis takes writes', async () => {
    await t.redis.configSet('maxmemory', '1');
    await t.redis.configResetStat();
    own = await ownWorker(t, { commandTimeoutMs: 300, options: { degradedPollMs: 20 } });
    const { ticks } = own;
    await own.worker.start();
    const due = await seedEscalationsDueAt(t, [new Date(Date.now() + 100)], { index: false });

    // Some 60 ticks (a tick every 20 ms while the index is distrusted).
    await waitFor('60 ticks', () => ticks.length >= 60);
    const attempts = await rebuildAttempts();
    expect(attempts, 'rebuild attempts in 60 ticks').to.be.within(2, 5);
    expect(
      ticks.every((tick) => tick.mode === 'redis'),
      'claims work: never degraded',
    ).to.equal(true);
    const [executed] = (await level1Lateness(t.pool)).filter((row) => due.includes(row.id));
    expect(executed?.status, 'due while the index could not be rebuilt').to.equal('EXECUTED');
    const failing = t.logs.filter((line) => String(line.message).startsWith('rebuilding the Redis index'));
    expect(failing.length, 'lines about it').to.be.at.most(attempts);
    expect(failing[0]).to.include({ level: 'warn', message: 'rebuilding the Redis index failed; retrying with backoff', failures: 1 });

    await t.redis.configSet('maxmemory', '0');
    await waitFor('the rebuild', () => t.logs.some((line) => line.message === 'reconciled the Redis index with Postgres'), { timeoutMs: 10_000 });
    await waitFor('the end of the episode', () => t.logs.some((line) => line.message === 'the Redis index was rebuilt after failures'));
    expect(await t.redis.exists(t.keys.indexMarker)).to.equal(1);
  });
});
