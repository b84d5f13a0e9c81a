/**
 * A Redis that restarts with a data set to load answers INFO but refuses everything
 * else with LOADING for as long as it loads. Issue 10: "While Redis was restarting
 * (LOADING), each worker logged 'rebuilding the Redis index failed; retrying on the
 * next tick' dozens of times a second": the worker took INFO's answer for a Redis
 * back in service, left degraded mode, failed its claim and its rebuild, and fell back
 * again, every tick.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import { type OwnWorker, level1Lateness, ownWorker, seedEscalationsDueAt } from '../support/own-worker.ts';
import { type PrivateRedis, startPrivateRedis } from '../support/redis-server.ts';
import { waitFor } from '../support/waiting.ts';

const POLL_MS = 20;
/** Loading slowed down (redis-server's test-only key-load-delay, in µs per key), and made to answer LOADING meanwhile. */
const SLOW_LOADING = ['--key-load-delay', '50', '--loading-process-events-interval-bytes', '1024'];

describe('a worker while Redis loads its data set (LOADING)', function () {
  this.timeout(30_000);
  let dir: string;
  let server: PrivateRedis;
  let t: TestContext;
  let own: OwnWorker | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'klaxon-redis-'));
    server = await startPrivateRedis({ dir });
    t = await createTestContext({ redisUrl: server.url });
  });
  after(async () => {
    await own?.close();
    await t.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** When an INFO that found Redis still loading was sent: it loaded at least until then. */
  let stillLoadingAt = 0;
  const loading = async () => {
    const sentAt = performance.now();
    const yes = /^loading:1/m.test(await t.redis.info('persistence'));
    if (yes) stillLoadingAt = sentAt;
    return yes;
  };

  it('stays on Postgres until the load ends (no flapping, no rebuild attempts), then goes back to Redis and rebuilds the index', async () => {
    own = await ownWorker(t, { commandTimeoutMs: 300, options: { degradedPollMs: POLL_MS } });
    const { ticks } = own;
    await own.worker.start();
    await waitFor('the worker trusting the index', async () => (await t.redis.exists(t.keys.indexMarker)) === 1);

    // Something to load: 10,000 keys beside the index, saved.
    for (let chunk = 0; chunk < 10; chunk += 1) {
      await t.redis.mSet(Array.from({ length: 1_000 }, (_, i) => [`${t.keyPrefix}filler:${chunk}:${i}`, 'x'.repeat(32)] as [string, string]));
    }
    await t.redis.sendCommand(['SAVE']);
    const logsBefore = t.logs.length;
    await server.stop();
    await server.start({ args: SLOW_LOADING, waitUntil: 'listening' });
    await waitFor('our client reconnected to the loading Redis', () => t.redis.isReady);
    expect(await loading(), 'still loading').to.equal(true);
    const loadingFrom = performance.now();
    // Due while it loads: only Postgres knows.
    const due = await seedEscalationsDueAt(t, [new Date(Date.now() + 100), new Date(Date.now() + 200)], { index: false });
    await waitFor('the load to end', async () => !(await loading()), { timeoutMs: 15_000, everyMs: 20 });
    const loadedAt = performance.now();
    expect(stillLoadingAt - loadingFrom, 'it loaded for a while').to.be.greaterThan(300);

    const whileLoading = ticks.filter((tick) => tick.at > loadingFrom && tick.at < stillLoadingAt);
    expect(whileLoading.length, 'ticks while loading').to.be.greaterThan(10);
    expect(
      whileLoading.every((tick) => tick.mode === 'degraded'),
      'every tick while loading claimed from Postgres',
    ).to.equal(true);
    const lateness = (await level1Lateness(t.pool)).filter((row) => due.includes(row.id));
    expect(lateness.map((row) => row.status)).to.deep.equal(['EXECUTED', 'EXECUTED']);
    expect(Math.max(...lateness.map((row) => row.latenessMs ?? Number.POSITIVE_INFINITY))).to.be.below(POLL_MS + 300);

    await waitFor('a tick in Redis mode', () => ticks.some((tick) => tick.at > loadedAt && tick.mode === 'redis'));
    await waitFor('the rebuild after the load', () => t.logs.slice(logsBefore).some((line) => line.message === 'reconciled the Redis index with Postgres'));
    const lines = t.logs.slice(logsBefore);
    expect(lines.filter((line) => line.message === 'Redis is unavailable: claiming escalations from Postgres until it returns')).to.have.length(1);
    expect(
      lines.filter((line) => String(line.message).startsWith('rebuilding the Redis index')),
      'rebuild failures',
    ).to.deep.equal([]);
  });
});
