import { expect } from 'chai';
import type { IncidentState } from '../../src/domain/incident-states.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { ACTION_FOR, incidentIn } from '../support/fixtures.ts';
import { storedState } from '../support/snapshot.ts';
import { TRANSITION_TABLE } from '../support/transition-table.ts';

type Json = Record<string, unknown>;

describe('the transition table through the API', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  // Every pair whose target has an endpoint (nothing moves an incident back to OPEN).
  for (const [from, to, allowed] of TRANSITION_TABLE) {
    if (to === 'OPEN') continue;
    const action = ACTION_FOR[to];

    if (allowed) {
      it(`${from} -> ${to}: POST /${action} answers 200 and records the transition`, async () => {
        const id = await incidentIn(t.api, from);
        const before = (await t.api.get(`/incidents/${id}`)).body;
        const res = await t.api.post(`/incidents/${id}/${action}`, { actor: 'alice', note: `to ${to}` });
        expect(res.status).to.equal(200);
        expect(res.body).to.include({ id, state: to, version: Number(before.version) + 1 });

        const events = await t.api.get<{ items: Json[] }>(`/incidents/${id}/events`);
        expect(events.body.items.at(-1)).to.include({ from_state: from, to_state: to, actor: 'alice', note: `to ${to}` });
        const escalations = (await t.api.get<{ items: Json[] }>(`/incidents/${id}/escalations`)).body.items;
        const pending = escalations.filter((row) => row.status === 'PENDING');
        expect(pending, 'PENDING escalations after the transition').to.have.length(to === 'ESCALATING' ? 1 : 0);
      });
    } else {
      it(`${from} -> ${to}: POST /${action} answers 409 naming the states, and changes nothing`, async () => {
        const id = await incidentIn(t.api, from);
        const stored = await storedState(t.pool, id);
        const res = await t.api.post(`/incidents/${id}/${action}`);
        expect(res.status).to.equal(409);
        expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
        expect(res.body).to.deep.include({
          code: 'invalid_transition',
          current_state: from,
          requested_state: to,
          allowed_states: TRANSITION_TABLE.filter(([f, , ok]) => f === from && ok).map(([, target]) => target),
        });
        expect(await storedState(t.pool, id)).to.deep.equal(stored);
      });
    }
  }

  it('a stale expected_version is refused with 409 version_conflict and changes nothing', async () => {
    const id = await incidentIn(t.api, 'ESCALATING');
    const stored = await storedState(t.pool, id);
    const res = await t.api.post(`/incidents/${id}/acknowledge`, { expected_version: 1 });
    expect(res.status).to.equal(409);
    expect(res.body).to.include({ code: 'version_conflict', expected_version: 1, current_version: 2 });
    expect(await storedState(t.pool, id)).to.deep.equal(stored);
    expect((await t.api.post(`/incidents/${id}/acknowledge`, { expected_version: 2 })).status).to.equal(200);
  });

  it('a transition on an unknown incident is 404', async () => {
    const res = await t.api.post('/incidents/00000000-0000-4000-8000-000000000000/resolve');
    expect(res.status).to.equal(404);
    expect(res.body.code).to.equal('not_found');
  });
});

describe('leaving OPEN or ESCALATING cancels the pending escalations', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  const leaving: IncidentState[] = ['ACKNOWLEDGED', 'RESOLVED', 'CANCELLED'];
  for (const to of leaving) {
    it(`on ${ACTION_FOR[to as 'ACKNOWLEDGED']}: the row is CANCELLED in Postgres and gone from Redis`, async () => {
      const id = await incidentIn(t.api, 'ESCALATING');
      const [pending] = (await t.pool.query<{ id: string }>(`SELECT id FROM escalations WHERE incident_id = $1`, [id])).rows;
      expect(await t.redis.zScore(t.keys.pending, String(pending?.id))).to.be.a('number');

      t.clock.advance(90_000);
      const res = await t.api.post(`/incidents/${id}/${ACTION_FOR[to as 'ACKNOWLEDGED']}`);
      expect(res.status).to.equal(200);

      const rows = (await t.pool.query(`SELECT status, cancelled_at, executed_at FROM escalations WHERE incident_id = $1`, [id])).rows;
      expect(rows).to.deep.equal([{ status: 'CANCELLED', cancelled_at: t.clock.now(), executed_at: null }]);
      expect(await t.redis.zScore(t.keys.pending, String(pending?.id))).to.equal(null);
      const events = await t.api.get<{ items: Json[] }>(`/incidents/${id}/events`);
      expect(events.body.items.at(-1)?.details).to.deep.equal({ cancelled_escalations: [pending?.id] });
    });
  }

  it('escalating adds exactly the level-1 row to Redis with its due time as the score', async () => {
    const id = await incidentIn(t.api, 'OPEN');
    await t.api.post(`/incidents/${id}/escalate`);
    const [row] = (await t.pool.query<{ id: string; scheduled_at: Date }>(`SELECT id, scheduled_at FROM escalations WHERE incident_id = $1`, [id])).rows;
    expect(row?.scheduled_at.getTime()).to.equal(t.clock.now().getTime() + 5 * 60_000);
    expect(await t.redis.zScore(t.keys.pending, String(row?.id))).to.equal(row?.scheduled_at.getTime());
  });
});
