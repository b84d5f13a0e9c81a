/**
 * A poison row is isolated (issue 10, item 5): a row whose execution always throws
 * used to fail its whole batch of up to 500 on every retry. Now the batch's rows are
 * retried apart, the row's failed attempts are counted in Postgres, and after
 * MAX_EXECUTION_ATTEMPTS it is quarantined: still PENDING, out of every batch, shown in
 * /stats and the metrics, logged once, settled by a transition, released by an
 * operator.
 */
import { expect } from 'chai';
import type { Clock } from '../../src/clock/clock.ts';
import { RedisQueue } from '../../src/engine/index/queue.ts';
import { Reconciler } from '../../src/engine/index/reconciler.ts';
import { ATTEMPT_BACKOFF, MAX_EXECUTION_ATTEMPTS } from '../../src/engine/quarantine.ts';
import { type Metrics, createMetrics } from '../../src/metrics/metrics.ts';
import type { Worker } from '../../src/worker/worker.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { sample } from '../support/metrics.ts';
import { executedOtherThanOnce } from '../support/own-worker.ts';
import { finished, spawnKlaxon } from '../support/processes.ts';
import { countByStatus, seedDueEscalations, workerFor } from '../support/worker.ts';

/** Real time, plus a shift the test moves to live through the retries' backoff without waiting for it. */
class ShiftedClock implements Clock {
  private shiftMs = 0;
  now(): Date {
    return new Date(Date.now() + this.shiftMs);
  }
  advance(ms: number): void {
    this.shiftMs += ms;
  }
  /** From this instant on, now() reads `at` (and goes on with real time). */
  setTo(at: Date): void {
    this.shiftMs = at.getTime() - Date.now();
  }
}

const BATCH = 500;

describe('a row whose execution always throws, in a batch of 500 due at once', function () {
  this.timeout(60_000);
  let t: TestContext;
  let clock: ShiftedClock;
  let metrics: Metrics;
  let worker: Worker;
  beforeEach(async () => {
    t = await createTestContext();
    clock = new ShiftedClock();
    metrics = createMetrics();
    worker = workerFor(t, { batchSize: BATCH }, clock, undefined, metrics);
    await worker.tick();
    await worker.indexRebuilt(); // started: the worker trusts the index and claims from Redis
  });
  afterEach(() => t.close());

  /** A corrupt policy snapshot on the row's incident: the executor throws a TypeError reading it. */
  async function corruptSnapshotOf(escalationId: string): Promise<void> {
    await t.ownerPool.query(`UPDATE incidents SET policy_snapshot = '{"levels": "corrupt"}' WHERE id = (SELECT incident_id FROM escalations WHERE id = $1)`, [
      escalationId,
    ]);
  }

  async function failureOf(id: string) {
    const { rows } = await t.pool.query<{ attempts: number; quarantined_at: Date | null; last_error: string; retry_at: Date }>(
      `SELECT attempts, quarantined_at, last_error, retry_at FROM escalation_failures WHERE escalation_id = $1`,
      [id],
    );
    return rows[0];
  }

  const logsSaying = (start: string) => t.logs.filter((line) => String(line.message).startsWith(start));

  /** Seeds `count` rows due at one instant, and makes that instant now: what follows is their lateness. */
  async function dueNow(count: number, options: { index?: boolean } = {}): Promise<{ ids: string[]; due: Date }> {
    const due = new Date(clock.now().getTime() + 60_000);
    const ids = await seedDueEscalations(t, count, due, options);
    return { ids, due };
  }

  /** The largest lateness (executed_at - scheduled_at, ms) among the level-1 rows executed, of those due at `due`. */
  async function maxLateness(due: Date): Promise<number> {
    const { rows } = await t.pool.query<{ max_ms: number }>(
      `SELECT max(extract(epoch FROM executed_at - scheduled_at) * 1000)::float8 AS max_ms
       FROM escalations WHERE escalation_level = 1 AND status = 'EXECUTED' AND scheduled_at = $1`,
      [due],
    );
    return rows[0]?.max_ms ?? Number.NaN;
  }

  it('the others execute in the same tick, on time; the bad one is retried a bounded number of times, then quarantined, still PENDING, in /stats and the metrics', async () => {
    // A clean batch first, for the machine's pace: the bad row may cost its neighbours a few transactions, no more.
    const clean = await dueNow(BATCH);
    clock.setTo(clean.due);
    const cleanTick = await worker.tick();
    expect(cleanTick).to.include({ executed: BATCH });
    const cleanMs = await maxLateness(clean.due);

    const { ids, due } = await dueNow(BATCH);
    const poison = ids[BATCH / 2] as string;
    await corruptSnapshotOf(poison);
    clock.setTo(due);
    const first = await worker.tick();
    expect(first).to.include({ claimed: BATCH, executed: BATCH - 1, failed: 1, quarantined: 0 });
    const poisonedMs = await maxLateness(due);
    expect(poisonedMs, `lateness of the good rows beside the bad one (ms), a clean batch's ${cleanMs} ms`).to.be.below(3 * cleanMs + 500);
    expect(await countByStatus(t.pool, 1)).to.deep.equal({ EXECUTED: 2 * BATCH - 1, PENDING: 1 });
    const afterOne = await failureOf(poison);
    expect(afterOne).to.include({ attempts: 1, quarantined_at: null });
    expect(afterOne?.last_error).to.match(/^TypeError: /);
    // Back in the index at its retry time, not at once.
    expect(await t.redis.zScore(t.keys.pending, poison)).to.equal(afterOne?.retry_at.getTime());
    expect(await t.redis.zCard(t.keys.inflight)).to.equal(0);

    // Not due again before its retry time.
    expect(await worker.tick()).to.include({ claimed: 0, failed: 0 });
    // Each retry time: tried alone, fails again, is counted; the last attempt quarantines it.
    for (let attempt = 2; attempt <= MAX_EXECUTION_ATTEMPTS; attempt += 1) {
      clock.advance(Math.min(ATTEMPT_BACKOFF.baseMs * 2 ** (attempt - 2), ATTEMPT_BACKOFF.capMs));
      const summary = await worker.tick();
      expect(summary, `attempt ${attempt}`).to.include({ claimed: 1, executed: 0, failed: 1, quarantined: attempt === MAX_EXECUTION_ATTEMPTS ? 1 : 0 });
      expect((await failureOf(poison))?.attempts).to.equal(attempt);
    }
    const record = await failureOf(poison);
    expect(record?.quarantined_at).to.be.an.instanceOf(Date);
    expect(await countByStatus(t.pool, 1), 'still PENDING').to.deep.equal({ EXECUTED: 2 * BATCH - 1, PENDING: 1 });

    // Out of every batch: not in the index, not claimed from Redis, nor from Postgres, nor put back by a rebuild.
    expect(await t.redis.zScore(t.keys.pending, poison)).to.equal(null);
    clock.advance(ATTEMPT_BACKOFF.capMs * 10);
    expect(await worker.tick()).to.include({ claimed: 0, failed: 0 });
    expect(await worker.runOnce()).to.include({ claimed: 0, failed: 0 });
    await t.redis.zAdd(t.keys.pending, { score: due.getTime(), value: poison }); // a stale index entry, say
    expect(await worker.tick(), 'the executor leaves it alone, whoever claims it').to.include({ claimed: 1, executed: 0, failed: 0 });
    await new Reconciler(t.pool, new RedisQueue(t.redis, t.keys), t.deps.logger, 100, clock).run('test');
    expect(await t.redis.zScore(t.keys.pending, poison)).to.equal(null);

    // Logged once, with its id and the error; the batches' failures as one episode, not a line each.
    const quarantinedLines = logsSaying('quarantined an escalation');
    expect(quarantinedLines).to.have.length(1);
    expect(quarantinedLines[0]).to.include({ level: 'error', escalation_id: poison, attempts: MAX_EXECUTION_ATTEMPTS });
    expect(JSON.stringify(quarantinedLines[0]?.error)).to.include('TypeError');
    expect(logsSaying('executing a batch of escalations failed')).to.have.length(1);

    // /stats (GET and the CLI's JSON) and the metrics show it; nothing answers 500.
    const stats = await t.api.get<{ escalations: Record<string, unknown> }>('/stats');
    expect(stats.status).to.equal(200);
    expect(stats.body.escalations).to.include({ pending: 2 * BATCH - 1 + 1, quarantined: 1 });
    t.clock.set(clock.now());
    const cli = await finished(spawnKlaxon(t, 'src/cli/main.ts', ['stats', '--json'], {}));
    expect(cli.code, cli.stderr).to.equal(0);
    expect((JSON.parse(cli.stdout) as { escalations: Record<string, unknown> }).escalations).to.include({ quarantined: 1 });
    const apiMetrics = await t.api.get('/metrics');
    expect(apiMetrics.status).to.equal(200);
    expect(sample(apiMetrics.text, 'klaxon_escalations_quarantined')).to.equal(1);
    const workerMetrics = await metrics.registry.metrics();
    expect(sample(workerMetrics, 'klaxon_escalation_execution_failures_total')).to.equal(MAX_EXECUTION_ATTEMPTS);
    expect(sample(workerMetrics, 'klaxon_escalations_quarantined_total')).to.equal(1);
    expect(sample(workerMetrics, 'klaxon_escalations_executed_total')).to.equal(2 * BATCH - 1);
    expect(await executedOtherThanOnce(t.pool)).to.deep.equal([]);
  });

  it('claimed straight from Postgres (degraded mode, --once) too: the others execute, the bad one waits for its retry time', async () => {
    const { ids, due } = await dueNow(300, { index: false });
    const poison = ids[0] as string;
    await corruptSnapshotOf(poison);
    clock.setTo(due);
    expect(await worker.runOnce()).to.include({ claimed: 300, executed: 299, failed: 1 });
    expect(await worker.runOnce(), 'not claimed again before its retry time').to.include({ claimed: 0 });
    clock.advance(ATTEMPT_BACKOFF.baseMs);
    expect(await worker.runOnce()).to.include({ claimed: 1, executed: 0, failed: 1 });
    expect((await failureOf(poison))?.attempts).to.equal(2);
  });
});

describe('a quarantined escalation', function () {
  this.timeout(60_000);
  let t: TestContext;
  let worker: Worker;
  beforeEach(async () => {
    t = await createTestContext();
    t.clock.set(new Date()); // the CLI reads Postgres' time
    worker = workerFor(t);
    await worker.tick();
    await worker.indexRebuilt();
  });
  afterEach(() => t.close());

  /**
   * A row Postgres refuses to mark EXECUTED (as a constraint its data broke would),
   * while its incident stays readable and every transition works: installed by the
   * schema's owner, in this test's database only.
   */
  async function refuseExecuting(escalationId: string): Promise<() => Promise<void>> {
    await t.ownerPool.query(`
      CREATE FUNCTION test_refuse_executing() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.id = '${escalationId}'::uuid AND NEW.status = 'EXECUTED' THEN
          RAISE EXCEPTION 'escalation % cannot be executed', NEW.id USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_refuse_executing BEFORE UPDATE ON escalations FOR EACH ROW EXECUTE FUNCTION test_refuse_executing();`);
    return async () => {
      await t.ownerPool.query(`DROP TRIGGER test_refuse_executing ON escalations; DROP FUNCTION test_refuse_executing();`);
    };
  }

  /** Opens an incident that escalates, and quarantines its level 1 (the trigger refuses it every time). */
  async function quarantinedIncident(): Promise<{ incidentId: string; escalationId: string; fixCause: () => Promise<void> }> {
    const incidentId = String((await t.api.post('/incidents', { title: 'poisoned', escalate: true })).body.id);
    await seedDueEscalations(t, 20, t.clock.now()); // neighbours, due with it
    const { rows } = await t.pool.query<{ id: string; scheduled_at: Date }>(`SELECT id, scheduled_at FROM escalations WHERE incident_id = $1`, [incidentId]);
    const escalationId = String(rows[0]?.id);
    const fixCause = await refuseExecuting(escalationId);
    t.clock.set(rows[0]?.scheduled_at ?? new Date());
    expect(await worker.tick()).to.include({ executed: 20, failed: 1 });
    for (let attempt = 2; attempt <= MAX_EXECUTION_ATTEMPTS; attempt += 1) {
      t.clock.advance(ATTEMPT_BACKOFF.capMs);
      expect(await worker.tick(), `attempt ${attempt}`).to.include({ failed: 1 });
    }
    expect(
      t.logs.filter(
        (line) =>
          line.message ===
          'quarantined an escalation whose execution keeps failing: it stays PENDING, out of every batch, until released (klaxon escalation release)',
      ),
    ).to.have.length(1);
    return { incidentId, escalationId, fixCause };
  }

  it('is cancelled with its incident (a transition settles it like any PENDING row), and leaves the stats', async () => {
    const { incidentId, escalationId } = await quarantinedIncident();
    expect((await t.api.get<{ escalations: Record<string, unknown> }>('/stats')).body.escalations).to.include({ quarantined: 1 });
    const cancelled = await t.api.post(`/incidents/${incidentId}/cancel`);
    expect(cancelled.status, cancelled.text).to.equal(200);
    const { rows } = await t.pool.query<{ status: string }>(`SELECT status FROM escalations WHERE id = $1`, [escalationId]);
    expect(rows[0]?.status).to.equal('CANCELLED');
    expect((await t.api.get<{ escalations: Record<string, unknown> }>('/stats')).body.escalations).to.include({ quarantined: 0 });
    expect((await t.api.get(`/incidents/${incidentId}/escalations`)).status).to.equal(200);
  });

  it('released by an operator once the cause is fixed (klaxon escalation release), runs at once, once', async () => {
    const { incidentId, escalationId, fixCause } = await quarantinedIncident();
    const listed = await finished(spawnKlaxon(t, 'src/cli/main.ts', ['escalation', 'quarantined', '--json'], {}));
    expect(listed.code, listed.stderr).to.equal(0);
    const items = (JSON.parse(listed.stdout) as { items: { escalation_id: string; incident_id: string; attempts: number; last_error: string }[] }).items;
    expect(items).to.have.length(1);
    expect(items[0]).to.include({ escalation_id: escalationId, incident_id: incidentId, attempts: MAX_EXECUTION_ATTEMPTS });
    expect(items[0]?.last_error).to.match(/^23514 error: escalation .* cannot be executed$/);

    await fixCause();
    const released = await finished(spawnKlaxon(t, 'src/cli/main.ts', ['escalation', 'release', escalationId], {}));
    expect(released.code, released.stderr).to.equal(0);
    expect(released.stdout).to.equal(`${escalationId}\n`);
    expect(await t.redis.zScore(t.keys.pending, escalationId), 'back in the index, due').to.be.at.most(t.clock.now().getTime());

    expect(await worker.tick()).to.include({ executed: 1, failed: 0 });
    expect(await worker.tick()).to.include({ executed: 0 });
    const { rows } = await t.pool.query<{ status: string }>(`SELECT status FROM escalations WHERE id = $1`, [escalationId]);
    expect(rows[0]?.status).to.equal('EXECUTED');
    expect(await executedOtherThanOnce(t.pool)).to.deep.equal([]);
    expect((await t.api.get<{ escalations: Record<string, unknown> }>('/stats')).body.escalations).to.include({ quarantined: 0 });
  });
});
