/**
 * Two responders act on one incident at the same moment. The incident row lock
 * serializes them: every outcome is one some serial order would give, and with
 * expected_version exactly one of two racing writers wins.
 */
import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import { incidentIn } from '../support/fixtures.ts';

const ROUNDS = 25;

describe('concurrent transitions on one incident', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  it(`acknowledge and resolve racing with the version they read: exactly one wins, the other gets 409 (${ROUNDS} rounds)`, async () => {
    const winners = { acknowledge: 0, resolve: 0 };
    for (let round = 0; round < ROUNDS; round += 1) {
      const id = await incidentIn(t.api, 'ESCALATING');
      const version = Number((await t.api.get(`/incidents/${id}`)).body.version);
      const [ack, resolve] = await Promise.all([
        t.api.post(`/incidents/${id}/acknowledge`, { actor: 'alice', expected_version: version }),
        t.api.post(`/incidents/${id}/resolve`, { actor: 'bob', expected_version: version }),
      ]);
      expect([ack.status, resolve.status].sort()).to.deep.equal([200, 409]);
      const loser = ack.status === 409 ? ack : resolve;
      expect(loser.body.code).to.equal('version_conflict');
      winners[ack.status === 200 ? 'acknowledge' : 'resolve'] += 1;

      const events = (await t.pool.query(`SELECT kind FROM incident_events WHERE incident_id = $1 ORDER BY id`, [id])).rows;
      expect(events.map((e: { kind: string }) => e.kind)).to.deep.equal(['opened', 'escalation_started', ack.status === 200 ? 'acknowledged' : 'resolved']);
    }
    expect(winners.acknowledge + winners.resolve).to.equal(ROUNDS);
  });

  it(`two acknowledges racing: exactly one wins, the other gets 409 naming ACKNOWLEDGED (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const id = await incidentIn(t.api, 'ESCALATING');
      const results = await Promise.all([t.api.post(`/incidents/${id}/acknowledge`), t.api.post(`/incidents/${id}/acknowledge`)]);
      expect(results.map((r) => r.status).sort()).to.deep.equal([200, 409]);
      expect(results.find((r) => r.status === 409)?.body).to.include({ current_state: 'ACKNOWLEDGED', requested_state: 'ACKNOWLEDGED' });
      const acks = await t.pool.query(`SELECT 1 FROM incident_events WHERE incident_id = $1 AND kind = 'acknowledged'`, [id]);
      expect(acks.rowCount).to.equal(1);
    }
  });

  it(`acknowledge and resolve racing without a version: a serial outcome every time (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const id = await incidentIn(t.api, 'ESCALATING');
      const [ack, resolve] = await Promise.all([t.api.post(`/incidents/${id}/acknowledge`), t.api.post(`/incidents/${id}/resolve`)]);
      // Either ack then resolve (both 200), or resolve first and the ack is refused.
      expect(resolve.status).to.equal(200);
      expect([200, 409]).to.include(ack.status);
      const kinds = (await t.pool.query<{ kind: string }>(`SELECT kind FROM incident_events WHERE incident_id = $1 ORDER BY id`, [id])).rows.map((r) => r.kind);
      expect(kinds.slice(2)).to.deep.equal(ack.status === 200 ? ['acknowledged', 'resolved'] : ['resolved']);
      const pending = await t.pool.query(`SELECT 1 FROM escalations WHERE incident_id = $1 AND status = 'PENDING'`, [id]);
      expect(pending.rowCount).to.equal(0);
    }
  });
});
