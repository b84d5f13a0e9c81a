/**
 * The audit queries in docs/audit-queries.sql (and the README) work as written:
 * each runs against a database with a known story, and the interesting ones return
 * what the story says.
 */
import { expect } from 'chai';
import { loadAuditQueries, runAuditQuery } from '../support/audit-queries.ts';
import { type TestContext, createTestContext } from '../support/context.ts';

describe('the SQL audit queries in docs/audit-queries.sql', () => {
  let t: TestContext;
  const queries = loadAuditQueries();
  let slowAck: string;
  let quickAck: string;

  /** Runs a named query, with psql's :'incident_id' bound to a real id. */
  const runQuery = (name: string, incidentId = slowAck) => runAuditQuery(t.pool, name, incidentId);

  /** What a worker does when a level fires (the worker itself comes with the next issue). */
  async function execute(incidentId: string, level: number, nextDelayMs?: number): Promise<void> {
    const now = t.clock.now();
    await t.pool.query(
      `UPDATE escalations SET status = 'EXECUTED', executed_at = $3, updated_at = $3
       WHERE incident_id = $1 AND escalation_level = $2 AND status = 'PENDING'`,
      [incidentId, level, now],
    );
    if (nextDelayMs !== undefined) {
      await t.pool.query(
        `INSERT INTO escalations (incident_id, escalation_level, scheduled_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
        [incidentId, level + 1, new Date(now.getTime() + nextDelayMs), now],
      );
    }
  }

  before(async () => {
    t = await createTestContext();
    t.clock.set(new Date(Date.now() - 3_600_000));
    // slowAck: escalated, level 1 fired 200 ms late, level 2 on time, then acknowledged.
    slowAck = String((await t.api.post('/incidents', { title: 'slow ack', severity: 'critical', escalate: true })).body.id);
    quickAck = String((await t.api.post('/incidents', { title: 'quick ack', severity: 'critical', escalate: true })).body.id);
    t.clock.advance(60_000);
    await t.api.post(`/incidents/${quickAck}/acknowledge`, { actor: 'bob' });
    t.clock.advance(4 * 60_000 + 200);
    await execute(slowAck, 1, 15 * 60_000);
    t.clock.advance(15 * 60_000);
    await execute(slowAck, 2, 60 * 60_000);
    t.clock.advance(2 * 60_000);
    await t.api.post(`/incidents/${slowAck}/acknowledge`, { actor: 'alice', note: 'on it' });
  });
  after(() => t.close());

  it('the file holds at least five named queries', () => {
    expect(queries.size).to.be.at.least(5);
  });

  it('every query runs without error', async () => {
    for (const name of queries.keys()) await runQuery(name);
  });

  it('escalations-of-one-incident shows each level with its lateness', async () => {
    const rows = await runQuery('escalations-of-one-incident');
    expect(rows.map((r) => [r.escalation_level, r.status])).to.deep.equal([
      [1, 'EXECUTED'],
      [2, 'EXECUTED'],
      [3, 'CANCELLED'],
    ]);
    expect(rows[0]?.lateness).to.deep.include({ milliseconds: 200 });
  });

  it('acknowledged-only-after-level-2 finds the slow acknowledgement, not the quick one', async () => {
    const rows = await runQuery('acknowledged-only-after-level-2');
    expect(rows.map((r) => r.id)).to.deep.equal([slowAck]);
    expect(rows[0]?.highest_level_paged_before_ack).to.equal(2);
  });

  it('mean-time-to-acknowledge-by-severity averages both critical incidents', async () => {
    const rows = await runQuery('mean-time-to-acknowledge-by-severity');
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ severity: 'critical', acknowledged: '2' });
  });

  it('audit-trail-of-one-incident tells the story in order', async () => {
    const rows = await runQuery('audit-trail-of-one-incident');
    expect(rows.map((r) => r.kind)).to.deep.equal(['opened', 'escalation_started', 'acknowledged']);
  });

  it('paged-after-acknowledge is empty', async () => {
    expect(await runQuery('paged-after-acknowledge')).to.deep.equal([]);
  });
});
