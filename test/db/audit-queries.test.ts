/**
 * The audit queries in docs/audit-queries.sql (and the README) work as written: each
 * runs against a database with a known story, told through the API and the worker,
 * and the interesting ones return what the story says, across snoozes, a second
 * acknowledgement, a reassignment to a level and a manual escalation.
 */
import { expect } from 'chai';
import type { Worker } from '../../src/worker/worker.ts';
import { loadAuditQueries, runAuditQuery } from '../support/audit-queries.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { workerFor } from '../support/worker.ts';

const MIN = 60_000;

describe('the SQL audit queries in docs/audit-queries.sql', () => {
  let t: TestContext;
  let worker: Worker;
  const queries = loadAuditQueries();
  /** Level 1 fired 200 ms late, level 2 1.5 s late, acknowledged, snoozed, paged again when the snooze ended, acknowledged again, resolved. */
  let slowAck: string;
  /** Acknowledged a minute after it was opened. */
  let quickAck: string;
  /** Paged level 1 by hand, reassigned to level 2 (paged at once), then acknowledged. */
  let byHand: string;
  let t0: number;

  /** Runs a named query, with psql's :'incident_id' bound to a real id. */
  const runQuery = (name: string, incidentId = slowAck) => runAuditQuery(t.pool, name, incidentId);
  const post = async (path: string, body?: unknown) => {
    const res = await t.api.post(path, body);
    expect(res.status, `${path}: ${res.text}`).to.equal(path === '/incidents' ? 201 : 200);
    return res.body;
  };
  /** Moves the clock to t0 + ms and lets the worker execute what is due. */
  async function at(ms: number): Promise<void> {
    t.clock.set(new Date(t0 + ms));
    await worker.tick();
  }

  before(async () => {
    t = await createTestContext();
    worker = workerFor(t);
    // An hour ago, so that "the last 30 days" and "the last 24 hours" hold the story.
    t0 = Date.now() - 3_600_000;
    t.clock.set(new Date(t0));
    slowAck = String((await post('/incidents', { title: 'slow ack', severity: 'critical', escalate: true })).id);
    quickAck = String((await post('/incidents', { title: 'quick ack', severity: 'critical', escalate: true })).id);
    byHand = String((await post('/incidents', { title: 'by hand', severity: 'warning', escalate: true })).id);

    await at(1 * MIN);
    await post(`/incidents/${quickAck}/acknowledge`, { actor: 'bob' });
    await at(2 * MIN);
    await post(`/incidents/${byHand}/escalate`, { from_level: 0 });
    await at(3 * MIN);
    await post(`/incidents/${byHand}/reassign`, { level: 2 });
    await at(4 * MIN);
    await post(`/incidents/${byHand}/acknowledge`, { actor: 'carol' });

    await at(5 * MIN + 200); // slowAck level 1, 200 ms late
    await at(20 * MIN + 1_700); // level 2, 1.5 s late (due 15 min after level 1 fired)
    await at(22 * MIN);
    await post(`/incidents/${slowAck}/acknowledge`, { actor: 'alice', note: 'on it' });
    await post(`/incidents/${slowAck}/snooze`, { duration: '1m' });
    await at(23 * MIN); // the snooze ends: escalating again, level 1 paged again
    await at(24 * MIN);
    await post(`/incidents/${slowAck}/acknowledge`, { actor: 'alice', note: 'still on it' });
    await at(25 * MIN);
    await post(`/incidents/${slowAck}/resolve`, { actor: 'alice' });
  });
  after(() => t.close());

  it('the file holds at least five named queries, and every one runs without error', async () => {
    expect(queries.size).to.be.at.least(5);
    for (const name of queries.keys()) await runQuery(name);
  });

  it('escalations-of-one-incident shows each level with its lateness, in the order things happened', async () => {
    const rows = await runQuery('escalations-of-one-incident');
    expect(rows.map((r) => [r.repeat_cycle, r.escalation_level, r.trigger, r.status])).to.deep.equal([
      [0, 1, 'timetable', 'EXECUTED'],
      [0, 2, 'timetable', 'EXECUTED'],
      [0, 3, 'timetable', 'CANCELLED'], // by the acknowledgement
      [1, 1, 'snooze_end', 'EXECUTED'],
      [1, 2, 'timetable', 'CANCELLED'], // by the second acknowledgement
    ]);
    expect(rows[0]?.lateness).to.deep.include({ milliseconds: 200 });
    // The manual page is listed where it happened: after the timetable row it replaced.
    const manual = await runQuery('escalations-of-one-incident', byHand);
    expect(manual.map((r) => [r.repeat_cycle, r.escalation_level, r.trigger, r.status])).to.deep.equal([
      [0, 1, 'timetable', 'CANCELLED'],
      [0, 1, 'manual', 'EXECUTED'],
      [0, 2, 'timetable', 'CANCELLED'],
      [1, 2, 'manual', 'EXECUTED'],
      [1, 3, 'timetable', 'CANCELLED'],
    ]);
  });

  it('late-escalations lists the levels that fired more than a second late, and only those', async () => {
    const rows = await runQuery('late-escalations');
    expect(rows.map((r) => [r.incident_id, r.escalation_level, { ...(r.lateness as object) }])).to.deep.equal([
      [slowAck, 2, { seconds: 1, milliseconds: 500 }],
    ]);
  });

  it("the API lists an incident's escalations in the same order", async () => {
    const res = await t.api.get<{ items: { level: number; repeat_cycle: number; status: string }[] }>(`/incidents/${byHand}/escalations`);
    expect(res.body.items.map((e) => [e.repeat_cycle, e.level, e.status])).to.deep.equal([
      [0, 1, 'CANCELLED'],
      [0, 1, 'EXECUTED'],
      [0, 2, 'CANCELLED'],
      [1, 2, 'EXECUTED'],
      [1, 3, 'CANCELLED'],
    ]);
  });

  it('acknowledged-only-after-level-2 finds the slow acknowledgement and the reassignment to level 2, judged at the first acknowledgement', async () => {
    const rows = await runQuery('acknowledged-only-after-level-2');
    expect(rows.map((r) => r.id)).to.deep.equal([slowAck, byHand]);
    expect(rows.map((r) => r.highest_level_paged_before_ack)).to.deep.equal([2, 2]);
    expect((rows[0]?.first_acknowledged_at as Date).getTime()).to.equal(t0 + 22 * MIN);
  });

  it('mean-time-to-acknowledge-by-severity measures to the first acknowledgement, not the last', async () => {
    const rows = await runQuery('mean-time-to-acknowledge-by-severity');
    expect(rows.map((r) => [r.severity, r.acknowledged])).to.deep.equal([
      ['critical', '2'],
      ['warning', '1'],
    ]);
    // slowAck 22 min, quickAck 1 min: a mean of 11.5 min (the second acknowledgement, at 24 min, would make it 12.5).
    expect(rows[0]?.mean_time_to_acknowledge).to.deep.include({ minutes: 11, seconds: 30 });
    // incidents.acknowledged_at holds the latest acknowledgement.
    expect((await t.api.get(`/incidents/${slowAck}`)).body.acknowledged_at).to.equal(new Date(t0 + 24 * MIN).toISOString());
  });

  it('audit-trail-of-one-incident tells the story in order', async () => {
    const rows = await runQuery('audit-trail-of-one-incident');
    expect(rows.map((r) => r.kind)).to.deep.equal([
      'opened',
      'escalation_started',
      'escalated',
      'escalated',
      'acknowledged',
      'snoozed',
      'snooze_ended',
      'escalated',
      'acknowledged',
      'resolved',
    ]);
  });

  it('who-was-paged lists every page of the incident, the one after the snooze included', async () => {
    const rows = await runQuery('who-was-paged');
    expect(rows.map((r) => [r.level, r.repeat_cycle, r.trigger])).to.deep.equal([
      [1, 0, 'timetable'],
      [2, 0, 'timetable'],
      [1, 1, 'snooze_end'],
    ]);
  });

  it('paged-while-not-escalating is empty across snoozes, reassignments and manual escalations, and finds a page that was sent while acknowledged', async () => {
    expect(await runQuery('paged-while-not-escalating')).to.deep.equal([]);
    // A page written after an acknowledgement, as a bug would write it: the query must catch it.
    const { rows } = await t.pool.query<{ id: string }>(
      `INSERT INTO incident_events (incident_id, kind, from_state, to_state, occurred_at, details)
       VALUES ($1, 'escalated', 'ACKNOWLEDGED', 'ACKNOWLEDGED', $2, '{"level": 3, "escalation_id": "forged"}') RETURNING id`,
      [quickAck, new Date(t0 + 30 * MIN)],
    );
    expect(rows).to.have.length(1);
    const found = await runQuery('paged-while-not-escalating');
    expect(found.map((r) => [r.incident_id, r.escalation_id, r.level, r.state_before])).to.deep.equal([[quickAck, 'forged', 3, 'ACKNOWLEDGED']]);
  });
});
