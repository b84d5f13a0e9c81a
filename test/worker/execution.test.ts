/**
 * Stories of one escalation through the worker, with the clock in the test's hand:
 * open, fast-forward, tick, expect the page (or not).
 */
import { expect } from 'chai';
import type { IncidentState } from '../../src/domain/incident-states.ts';
import type { Worker } from '../../src/worker/worker.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { ACTION_FOR } from '../support/fixtures.ts';
import { countByStatus, workerFor } from '../support/worker.ts';

type Json = Record<string, unknown>;
const MIN = 60_000;

describe('the worker executes an escalation on time, once, then the next level', () => {
  let t: TestContext;
  let worker: Worker;
  let start: number;
  beforeEach(async () => {
    t = await createTestContext();
    worker = workerFor(t);
    start = t.clock.now().getTime();
  });
  afterEach(() => t.close());

  const at = (ms: number) => new Date(start + ms);
  async function escalations(id: string): Promise<Json[]> {
    return (await t.api.get<{ items: Json[] }>(`/incidents/${id}/escalations`)).body.items;
  }
  async function openEscalating(): Promise<string> {
    return String((await t.api.post('/incidents', { title: 'checkout down', severity: 'critical', escalate: true })).body.id);
  }

  it('does not fire a millisecond early, fires at its due time, and schedules level 2 after its delay', async () => {
    await worker.tick();
    await worker.indexRebuilt(); // past start-up: the worker trusts the index and sleeps by it
    const id = await openEscalating();
    t.clock.set(at(5 * MIN - 1));
    expect((await worker.tick()).executed).to.equal(0);
    expect((await escalations(id))[0]).to.include({ status: 'PENDING' });

    t.clock.set(at(5 * MIN));
    const summary = await worker.tick();
    expect(summary).to.include({ mode: 'redis', claimed: 1, executed: 1 });
    const rows = await escalations(id);
    expect(rows.map((row) => [row.level, row.status, row.executed_at ?? row.scheduled_at])).to.deep.equal([
      [1, 'EXECUTED', at(5 * MIN).toISOString()],
      [2, 'PENDING', at(20 * MIN).toISOString()],
    ]);
    expect(summary.nextWakeMs).to.equal(at(20 * MIN).getTime());
    expect(await t.redis.zScore(t.keys.pending, String(rows[1]?.id))).to.equal(at(20 * MIN).getTime());
    expect(await t.redis.zCard(t.keys.inflight)).to.equal(0);

    const incident = (await t.api.get(`/incidents/${id}`)).body;
    expect(incident).to.include({ state: 'ESCALATING', current_escalation_level: 1 });
    const events = (await t.api.get<{ items: Json[] }>(`/incidents/${id}/events`)).body.items;
    expect(events.at(-1)).to.deep.include({ kind: 'escalated', from_state: 'ESCALATING', to_state: 'ESCALATING' });
    expect(events.at(-1)?.details).to.deep.include({
      level: 1,
      lateness_ms: 0,
      escalation_id: rows[0]?.id,
      scheduled_at: at(5 * MIN).toISOString(),
      // The step this execution scheduled, as the statement that wrote both knows it.
      next: { escalation_id: rows[1]?.id, due_at: at(20 * MIN).toISOString() },
    });
  });

  it('runs the seed timetable: levels 1, 2 and 3 in order, then records that it is exhausted and stops', async () => {
    const id = await openEscalating();
    for (const [dueMs, level] of [
      [5 * MIN, 1],
      [20 * MIN, 2],
      [80 * MIN, 3],
    ] as const) {
      t.clock.set(at(dueMs - 1));
      expect((await worker.tick()).executed, `level ${level} early`).to.equal(0);
      t.clock.set(at(dueMs));
      expect((await worker.tick()).executed, `level ${level}`).to.equal(1);
    }
    t.clock.set(at(24 * 60 * MIN));
    const after = await worker.tick();
    expect(after.executed).to.equal(0);
    expect(after.nextWakeMs).to.equal(null);

    expect((await escalations(id)).map((row) => [row.level, row.status])).to.deep.equal([
      [1, 'EXECUTED'],
      [2, 'EXECUTED'],
      [3, 'EXECUTED'],
    ]);
    const events = (await t.api.get<{ items: Json[] }>(`/incidents/${id}/events`)).body.items;
    expect(events.map((event) => event.kind)).to.deep.equal(['opened', 'escalation_started', 'escalated', 'escalated', 'escalated', 'escalation_exhausted']);
    // The last level scheduled nothing: its event says so.
    expect((events.at(-2)?.details as Json).next).to.equal(null);
    expect(events.at(-1)?.details).to.deep.equal({ last_level: 3, repeat_cycle: 0 });
    expect((await t.api.get(`/incidents/${id}`)).body).to.include({ state: 'ESCALATING', current_escalation_level: 3 });
  });

  it('gives the next level its full window when a level fires late', async () => {
    const id = await openEscalating();
    t.clock.set(at(45 * MIN)); // the workers were down for 40 minutes
    await worker.tick();
    const [, level2] = await escalations(id);
    expect(level2?.scheduled_at).to.equal(at(60 * MIN).toISOString());
    t.clock.set(at(59 * MIN));
    expect((await worker.tick()).executed, 'no back-to-back level 2').to.equal(0);
  });

  it('executes once: later ticks and a second worker find nothing more to do', async () => {
    await openEscalating();
    t.clock.set(at(5 * MIN));
    const second = workerFor(t);
    const results = await Promise.all([worker.tick(), second.tick(), worker.tick()]);
    expect(results.reduce((sum, r) => sum + r.executed, 0)).to.equal(1);
    expect(await countByStatus(t.pool, 1)).to.deep.equal({ EXECUTED: 1 });
    expect((await t.pool.query(`SELECT 1 FROM incident_events WHERE kind = 'escalated'`)).rowCount).to.equal(1);
  });

  for (const state of ['ACKNOWLEDGED', 'RESOLVED', 'CANCELLED'] as IncidentState[]) {
    it(`fires nothing when the incident is ${state} before the due time`, async () => {
      const id = await openEscalating();
      t.clock.set(at(4 * MIN));
      await t.api.post(`/incidents/${id}/${ACTION_FOR[state as 'ACKNOWLEDGED']}`);
      t.clock.set(at(6 * 60 * MIN));
      const summary = await worker.tick();
      expect(summary.executed).to.equal(0);
      expect(await countByStatus(t.pool)).to.deep.equal({ CANCELLED: 1 });
      expect((await t.pool.query(`SELECT 1 FROM incident_events WHERE kind = 'escalated'`)).rowCount).to.equal(0);
    });
  }

  it('cancels, and logs why, a PENDING row found on an incident that no longer escalates', async () => {
    const id = String((await t.api.post('/incidents', { title: 'x' })).body.id);
    await t.api.post(`/incidents/${id}/acknowledge`);
    // A row that escaped cancellation (written by hand, or by an older release).
    const { rows } = await t.pool.query<{ id: string }>(
      `INSERT INTO escalations (incident_id, escalation_level, scheduled_at) VALUES ($1, 1, $2) RETURNING id`,
      [id, at(MIN)],
    );
    await t.redis.zAdd(t.keys.pending, { score: at(MIN).getTime(), value: String(rows[0]?.id) });
    t.clock.set(at(MIN));
    expect(await worker.tick()).to.include({ executed: 0, cancelled: 1 });
    expect(await countByStatus(t.pool)).to.deep.equal({ CANCELLED: 1 });
    expect(t.logs.find((line) => line.message === 'cancelled an escalation: its incident no longer escalates')).to.include({
      escalation_id: rows[0]?.id,
      incident_state: 'ACKNOWLEDGED',
    });
  });

  it('never fires early even when the index says it is due: the row is put back at its real due time', async () => {
    const id = await openEscalating();
    const [row] = await escalations(id);
    await worker.tick();
    await worker.indexRebuilt(); // the start-up reconciliation would correct the score itself
    await t.redis.zAdd(t.keys.pending, { score: at(MIN).getTime(), value: String(row?.id) }); // a wrong, early score
    t.clock.set(at(MIN));
    expect(await worker.tick()).to.include({ executed: 0, requeued: 1 });
    expect(await t.redis.zScore(t.keys.pending, String(row?.id))).to.equal(at(5 * MIN).getTime());
  });

  it('ignores index members whose rows do not exist', async () => {
    await worker.tick();
    await worker.indexRebuilt(); // past the start-up reconciliation, which would drop the member itself
    await t.redis.zAdd(t.keys.pending, { score: start, value: '00000000-0000-4000-8000-000000000000' });
    expect(await worker.tick()).to.include({ claimed: 1, executed: 0, skipped: 1 });
    expect(await t.redis.zCard(t.keys.pending)).to.equal(0);
  });
});

describe('an acknowledge racing the due time', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  const ROUNDS = 40;
  it(`never lets an execution land after the acknowledge committed (${ROUNDS} rounds)`, async () => {
    const outcomes = { executedFirst: 0, acknowledgedFirst: 0 };
    const worker = workerFor(t);
    for (let round = 0; round < ROUNDS; round += 1) {
      const id = String((await t.api.post('/incidents', { title: `race ${round}`, escalate: true })).body.id);
      t.clock.advance(5 * MIN);
      const [ack] = await Promise.all([t.api.post(`/incidents/${id}/acknowledge`), worker.tick()]);
      expect(ack.status).to.equal(200);

      const events = (await t.pool.query<{ id: string; kind: string }>(`SELECT id, kind FROM incident_events WHERE incident_id = $1 ORDER BY id`, [id])).rows;
      const ackAt = events.findIndex((event) => event.kind === 'acknowledged');
      const escalatedAt = events.findIndex((event) => event.kind === 'escalated');
      expect(
        events.slice(ackAt + 1).map((event) => event.kind),
        'nothing after the acknowledge',
      ).to.deep.equal([]);
      outcomes[escalatedAt === -1 ? 'acknowledgedFirst' : 'executedFirst'] += 1;

      // Whatever the order, nothing is left to fire: the level 2 an early execution
      // scheduled was cancelled by the acknowledge.
      const pending = await t.pool.query(`SELECT 1 FROM escalations WHERE incident_id = $1 AND status = 'PENDING'`, [id]);
      expect(pending.rowCount).to.equal(0);
      t.clock.advance(24 * 60 * MIN);
      expect((await worker.tick()).executed).to.equal(0);
    }
    expect(outcomes.executedFirst + outcomes.acknowledgedFirst).to.equal(ROUNDS);
  });
});
