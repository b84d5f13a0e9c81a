/**
 * The API with a Redis that hangs with its connections open (SIGSTOP): a call waits
 * for Redis at most the command deadline, then answers from Postgres alone, and what
 * it wrote still fires. Issue 10: "API calls waited as long (p99 5.9 s)" as the hang.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { commandDeadlineMs } from '../../src/redis/client.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import type { ApiResponse } from '../support/http.ts';
import { type OwnWorker, ownWorker } from '../support/own-worker.ts';
import { type PrivateRedis, startPrivateRedis } from '../support/redis-server.ts';
import { waitFor } from '../support/waiting.ts';

/** An API call's own work (a transaction, an audit row) on a busy test host. */
const OWN_WORK_MS = 300;
const HANG_MS = 2_500;
/** Long enough for the acknowledge to come first, even after an open that waited the deadline. */
const LEVEL_1_DELAY_MS = 1_500;

describe('the API while Redis hangs (SIGSTOP)', function () {
  this.timeout(30_000);
  let server: PrivateRedis;
  let t: TestContext;
  let own: OwnWorker | undefined;
  let paused = false;
  before(async () => {
    server = await startPrivateRedis();
    t = await createTestContext({ redisUrl: server.url, levelDelaysMs: [LEVEL_1_DELAY_MS, 60_000, 60_000] });
  });
  after(async () => {
    if (paused) server.resume();
    await own?.close();
    await t.close();
    await server.stop();
  });

  async function timed<T>(call: () => Promise<T>): Promise<{ answer: T; took: number }> {
    const startedAt = performance.now();
    const answer = await call();
    return { answer, took: performance.now() - startedAt };
  }

  /** Opens an incident that escalates at once (level 1 due LEVEL_1_DELAY_MS later, real time), and acknowledges every other one. */
  async function openAndMaybeAcknowledge(n: number, took: number[]): Promise<{ id: string; acknowledged: boolean }> {
    t.clock.set(new Date());
    let startedAt = performance.now();
    const created = await t.api.post('/incidents', { title: `hung redis ${n}`, escalate: true });
    took.push(performance.now() - startedAt);
    expect(created.status).to.equal(201);
    const id = String(created.body.id);
    if (n % 2 === 1) return { id, acknowledged: false };
    startedAt = performance.now();
    const ack = await t.api.post(`/incidents/${id}/acknowledge`);
    took.push(performance.now() - startedAt);
    expect(ack.status).to.equal(200);
    return { id, acknowledged: true };
  }

  it('open+escalate and acknowledge answer within the deadline plus their own work, and the escalations they wrote still fire', async () => {
    const deadlineMs = commandDeadlineMs(t.redis) ?? Number.NaN;
    expect(deadlineMs).to.equal(500);
    own = await ownWorker(t, { commandTimeoutMs: 300 });
    await own.worker.start();
    await waitFor('the worker trusting the index', async () => (await t.redis.exists(t.keys.indexMarker)) === 1);

    // Warm up: the first calls of a process compile and prepare what later ones reuse.
    await Promise.all([0, 1, 2].map((n) => openAndMaybeAcknowledge(n, [])));

    server.pause();
    paused = true;
    const pausedAt = performance.now();
    // The hang ends on its own, whatever the calls do meanwhile.
    const resumed = sleep(HANG_MS).then(() => {
      server.resume();
      paused = false;
    });
    const took: number[] = [];
    const incidents: { id: string; acknowledged: boolean }[] = [];
    let readyz: ReturnType<typeof timed<ApiResponse>> | undefined;
    // Three clients at once, for most of the hang; /readyz halfway.
    await Promise.all(
      [0, 1, 2].map(async (client) => {
        for (let n = client; performance.now() - pausedAt < HANG_MS - 500; n += 3) {
          incidents.push(await openAndMaybeAcknowledge(n, took));
          if (performance.now() - pausedAt > HANG_MS / 2) readyz ??= timed(() => t.api.get('/readyz'));
        }
      }),
    );
    const { answer: ready, took: readyTook } = await (readyz ?? timed(() => t.api.get('/readyz')));
    await resumed;

    expect(Math.max(...took), 'the slowest call while Redis hung').to.be.at.most(deadlineMs + OWN_WORK_MS);
    expect(took.length, 'calls while Redis hung').to.be.at.least(20);
    expect(ready.status).to.equal(503);
    expect(ready.body).to.deep.include({ checks: { postgres: 'up', redis: 'down' } });
    expect(readyTook).to.be.at.most(deadlineMs + OWN_WORK_MS);

    // Postgres is the truth: every level 1 written meanwhile fires, unless acknowledged.
    const statuses = async () =>
      (await t.pool.query<{ incident_id: string; status: string }>(`SELECT incident_id, status FROM escalations WHERE escalation_level = 1`)).rows;
    await waitFor('every level 1 settled', async () => (await statuses()).every((row) => row.status !== 'PENDING'));
    const byIncident = new Map((await statuses()).map((row) => [row.incident_id, row.status]));
    for (const incident of incidents) {
      expect(byIncident.get(incident.id), incident.id).to.equal(incident.acknowledged ? 'CANCELLED' : 'EXECUTED');
    }
    // Logged as one episode, not once per call.
    expect(t.logs.filter((line) => line.message === 'could not update the Redis pending index; the reconciler will repair it')).to.have.length(1);
    expect(t.logs.filter((line) => line.message === 'still could not update the Redis pending index').length).to.be.at.most(HANG_MS / 1_000 + 1);
  });
});
