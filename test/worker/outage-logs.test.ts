/**
 * Logs scale with changes of state, not with traffic. Issue 10: "While Redis was
 * restarting, each worker logged 'rebuilding the Redis index failed; retrying on the
 * next tick' dozens of times a second, and the API logged one warning per request
 * while Redis was down."
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import { type OwnWorker, executedOtherThanOnce, ownWorker } from '../support/own-worker.ts';
import { type PrivateRedis, startPrivateRedis } from '../support/redis-server.ts';
import { waitFor } from '../support/waiting.ts';

/** As the issue measured it. */
const OUTAGE_MS = 10_000;
/** Lines an outage may cost whatever its length: each condition's start (and some their end). */
const STATE_CHANGES = 10;

describe('logs during a Redis outage under traffic', function () {
  this.timeout(40_000);
  let server: PrivateRedis;
  let t: TestContext;
  let own: OwnWorker | undefined;
  before(async () => {
    server = await startPrivateRedis();
    t = await createTestContext({ redisUrl: server.url, levelDelaysMs: [200, 60_000] });
  });
  after(async () => {
    await own?.close();
    await t.close();
    await server.stop();
  });

  it('while Redis is stopped for 10 s, the API and a worker log a few lines per state change and at most one summary a second, not one per request or tick', async () => {
    own = await ownWorker(t, { commandTimeoutMs: 300, options: { degradedPollMs: 50 } });
    const { ticks } = own;
    await own.worker.start();
    await waitFor('the worker trusting the index', async () => (await t.redis.exists(t.keys.indexMarker)) === 1);

    // Traffic: three clients opening incidents that escalate at once, acknowledging every other one.
    let running = true;
    let requests = 0;
    const acknowledged = new Set<string>();
    const traffic = Promise.all(
      [0, 1, 2].map(async () => {
        for (let n = 0; running; n += 1) {
          t.clock.set(new Date());
          const created = await t.api.post('/incidents', { title: `outage ${n}`, escalate: true });
          requests += 1;
          expect(created.status).to.equal(201);
          if (n % 2 === 0) continue;
          const id = String(created.body.id);
          expect((await t.api.post(`/incidents/${id}/acknowledge`)).status).to.equal(200);
          requests += 1;
          acknowledged.add(id);
        }
      }),
    );
    await waitFor('traffic flowing', () => requests >= 20);

    const logsBefore = t.logs.length;
    const ticksBefore = ticks.length;
    const requestsBefore = requests;
    const stoppedAt = performance.now();
    await server.stop();
    await sleep(OUTAGE_MS);
    await server.start();
    const restartedAt = performance.now();
    // The outage as the API sees it lasts until its client has reconnected (backoff: up to 2 s more).
    await waitFor('the API reconnected', () => t.redis.isReady);
    const seconds = Math.ceil((performance.now() - stoppedAt) / 1_000);
    await waitFor('the worker back on Redis', () => ticks.some((tick) => tick.at > restartedAt && tick.mode === 'redis'));
    await waitFor('the rebuild', () => t.logs.slice(logsBefore).some((line) => line.message === 'reconciled the Redis index with Postgres'));
    running = false;
    await traffic;
    const requestsDuring = requests - requestsBefore;
    const ticksDuring = ticks.length - ticksBefore;
    const bound = STATE_CHANGES + seconds;
    const loud = () => t.logs.slice(logsBefore).filter((line) => line.level === 'warn' || line.level === 'error');
    expect(loud().length, JSON.stringify(loud().map((line) => [line.message, line.count]))).to.be.at.most(bound);
    // Far more requests and ticks than lines: the lines do not follow them. (A down
    // Redis used to cost each request a 500 ms wait too: its MULTI waited in node-redis'
    // queue for a reconnection.)
    expect(requestsDuring, 'requests during the outage').to.be.greaterThan(10 * bound);
    expect(ticksDuring, 'worker ticks during the outage').to.be.greaterThan(bound);

    // Every episode closes once its condition has been gone for an interval.
    for (const ended of ['Redis is back: claiming escalations from Redis again', 'Redis is reachable again', 'the Redis pending index is updated again']) {
      await waitFor(`"${ended}"`, () => t.logs.slice(logsBefore).some((line) => line.message === ended));
    }
    expect(loud().length, JSON.stringify(loud().map((line) => [line.message, line.count]))).to.be.at.most(bound);
    const lines = t.logs.slice(logsBefore);
    const once = (message: string) => lines.filter((line) => line.message === message).length;
    expect(once('Redis is unavailable: claiming escalations from Postgres until it returns')).to.equal(1);
    expect(once('could not update the Redis pending index; the reconciler will repair it')).to.equal(1);
    expect(once('Redis is unreachable; Postgres stays the source of truth'), 'the API and the worker each').to.equal(2);

    // And nothing was lost or doubled meanwhile.
    await waitFor(
      'every level 1 settled',
      async () => (await t.pool.query(`SELECT 1 FROM escalations WHERE escalation_level = 1 AND status = 'PENDING'`)).rowCount === 0,
    );
    const settled = await t.pool.query<{ incident_id: string; status: string }>(`SELECT incident_id, status FROM escalations WHERE escalation_level = 1`);
    expect(settled.rowCount, 'one level 1 per incident opened').to.equal(requests - acknowledged.size);
    // An acknowledged one may have fired first (it was due 200 ms after it opened).
    for (const row of settled.rows) if (!acknowledged.has(row.incident_id)) expect(row.status, row.incident_id).to.equal('EXECUTED');
    expect(await executedOtherThanOnce(t.pool)).to.deep.equal([]);
  });
});
