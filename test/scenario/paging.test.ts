/**
 * Stories of who gets paged: open an incident on a service, move the clock, expect
 * the page to reach the right person, act, expect nothing more.
 */
import { expect } from 'chai';
import type { Worker } from '../../src/worker/worker.ts';
import { runAuditQuery } from '../support/audit-queries.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createPolicyVia, createServiceRow, createTeam, createUser, createWeeklySchedule } from '../support/factories.ts';
import { workerFor } from '../support/worker.ts';

type Json = Record<string, unknown>;
const MIN = 60_000;

describe('paging stories', () => {
  let t: TestContext;
  let worker: Worker;
  let alice: string;
  let bob: string;
  let carol: string;
  let schedule: string;
  let start: number;
  beforeEach(async () => {
    t = await createTestContext();
    // Monday 2026-03-02 10:00 UTC: the weekly rotation [alice, bob] started 2026-02-23, so bob is on call.
    t.clock.set('2026-03-02T10:00:00.000Z');
    start = t.clock.now().getTime();
    worker = workerFor(t);
    alice = await createUser(t.pool, 'Alice');
    bob = await createUser(t.pool, 'Bob');
    carol = await createUser(t.pool, 'Carol');
    schedule = await createWeeklySchedule(t.api, 'Primary', [alice, bob]);
  });
  afterEach(() => t.close());

  const at = (ms: number) => new Date(start + ms);
  async function openOn(policy: Json): Promise<string> {
    const policyId = await createPolicyVia(t.api, { name: `policy ${Math.random()}`, ...policy });
    const service = await createServiceRow(t.pool, `service ${Math.random()}`, policyId);
    const res = await t.api.post('/incidents', { title: 'payments failing', service_id: service, escalate: true });
    expect(res.status, res.text).to.equal(201);
    return String(res.body.id);
  }
  async function advanceTo(ms: number) {
    t.clock.set(at(ms));
    return worker.tick();
  }
  async function events(id: string): Promise<Json[]> {
    return (await t.api.get<{ items: Json[] }>(`/incidents/${id}/events`)).body.items;
  }
  const pagedNames = (event: Json | undefined) => ((event?.details as Json).paged as Json[]).map((p) => p.name);

  it('level 1 pages a user; level 2 pages whoever the schedule has on call; after the acknowledge nothing more', async () => {
    const id = await openOn({
      levels: [
        { delay: '5m', targets: [{ type: 'user', id: carol }] },
        { delay: '10m', targets: [{ type: 'schedule', id: schedule }] },
        { delay: '10m', targets: [{ type: 'user', id: alice }] },
      ],
    });
    const incident = (await t.api.get(`/incidents/${id}`)).body;
    expect(incident.policy).to.deep.include({ version: 1 });

    await advanceTo(5 * MIN);
    expect(pagedNames((await events(id)).at(-1))).to.deep.equal(['Carol']);
    expect((await t.api.get(`/incidents/${id}`)).body).to.deep.include({
      current_escalation_level: 1,
      assignees: [{ user_id: carol, name: 'Carol', via: { type: 'user', id: carol } }],
    });

    await advanceTo(15 * MIN);
    const level2 = (await events(id)).at(-1);
    expect(level2?.details).to.deep.include({ level: 2, nobody: false });
    expect(pagedNames(level2)).to.deep.equal(['Bob']);

    t.clock.set(at(16 * MIN));
    await t.api.post(`/incidents/${id}/acknowledge`, { actor: 'bob' });
    expect((await advanceTo(24 * 60 * MIN)).executed).to.equal(0);
    expect((await events(id)).map((e) => e.kind).slice(-1)).to.deep.equal(['acknowledged']);
  });

  it('the audit query "who was paged" answers who, at which level, when, and through what', async () => {
    const team = await createTeam(t.pool, 'Payments', [alice, carol]);
    const id = await openOn({
      levels: [
        { delay: '5m', targets: [{ type: 'schedule', id: schedule }] },
        { delay: '10m', targets: [{ type: 'team', id: team }] },
      ],
    });
    await advanceTo(5 * MIN);
    await advanceTo(15 * MIN);
    const rows = await runAuditQuery(t.pool, 'who-was-paged', id);
    expect(rows.map((r) => [r.level, r.user_name, r.via, (r.paged_at as Date).toISOString()])).to.deep.equal([
      [1, 'Bob', 'schedule', at(5 * MIN).toISOString()],
      [2, 'Alice', 'team', at(15 * MIN).toISOString()],
      [2, 'Carol', 'team', at(15 * MIN).toISOString()],
    ]);
  });

  it('an override puts someone else on call for the page', async () => {
    await t.api.post(`/schedules/${schedule}/overrides`, { user_id: carol, start: at(0).toISOString(), end: at(60 * MIN).toISOString() });
    const id = await openOn({ levels: [{ delay: '5m', targets: [{ type: 'schedule', id: schedule }] }] });
    await advanceTo(5 * MIN);
    expect(pagedNames((await events(id)).find((e) => e.kind === 'escalated'))).to.deep.equal(['Carol']);
  });

  it('a team pages all its members, each once even when also named directly', async () => {
    const team = await createTeam(t.pool, 'Payments', [alice, bob, carol]);
    const id = await openOn({
      levels: [
        {
          delay: '5m',
          targets: [
            { type: 'user', id: bob },
            { type: 'team', id: team },
          ],
        },
      ],
    });
    await advanceTo(5 * MIN);
    const escalated = (await events(id)).find((e) => e.kind === 'escalated');
    expect(pagedNames(escalated)).to.deep.equal(['Bob', 'Alice', 'Carol']);
    expect(((escalated?.details as Json).paged as Json[])[0]?.via).to.deep.equal({ type: 'user', id: bob });
  });

  it('a level whose targets resolve to nobody is recorded as such, and the escalation moves on', async () => {
    const empty = await createTeam(t.pool, 'Nobody yet', []);
    const id = await openOn({
      levels: [
        { delay: '5m', targets: [{ type: 'team', id: empty }] },
        { delay: '5m', targets: [{ type: 'user', id: alice }] },
      ],
    });
    await advanceTo(5 * MIN);
    expect((await events(id)).at(-1)?.details).to.deep.include({ level: 1, paged: [], nobody: true });
    await advanceTo(10 * MIN);
    expect(pagedNames((await events(id)).findLast((e) => e.kind === 'escalated'))).to.deep.equal(['Alice']);
  });

  it('repeats the levels repeat_count more times, then records that the policy is exhausted', async () => {
    const id = await openOn({
      repeat_count: 1,
      levels: [
        { delay: '5m', targets: [{ type: 'user', id: alice }] },
        { delay: '5m', targets: [{ type: 'user', id: bob }] },
      ],
    });
    for (let step = 1; step <= 5; step += 1) await advanceTo(step * 5 * MIN);
    const escalated = (await events(id)).filter((e) => e.kind === 'escalated').map((e) => [(e.details as Json).repeat_cycle, (e.details as Json).level]);
    expect(escalated).to.deep.equal([
      [0, 1],
      [0, 2],
      [1, 1],
      [1, 2],
    ]);
    expect((await events(id)).at(-1)).to.deep.include({ kind: 'escalation_exhausted' });
  });

  it('an incident keeps the policy it started with when the policy is edited, and a new incident gets the new version', async () => {
    const policyId = await createPolicyVia(t.api, { name: 'edited later', levels: [{ delay: '5m', targets: [{ type: 'user', id: alice }] }] });
    const service = await createServiceRow(t.pool, 'svc', policyId);
    const before = String((await t.api.post('/incidents', { title: 'before', service_id: service, escalate: true })).body.id);
    await t.api.raw('PUT', `/escalation-policies/${policyId}`, {
      body: JSON.stringify({ name: 'edited later', levels: [{ delay: '30m', targets: [{ type: 'user', id: carol }] }] }),
      headers: { 'content-type': 'application/json' },
    });
    const after = String((await t.api.post('/incidents', { title: 'after', service_id: service, escalate: true })).body.id);

    await advanceTo(5 * MIN);
    expect(pagedNames((await events(before)).find((e) => e.kind === 'escalated'))).to.deep.equal(['Alice']);
    expect((await events(after)).some((e) => e.kind === 'escalated')).to.equal(false);
    await advanceTo(30 * MIN);
    expect(pagedNames((await events(after)).find((e) => e.kind === 'escalated'))).to.deep.equal(['Carol']);
    expect((await t.api.get(`/incidents/${before}`)).body.policy).to.deep.include({ version: 1 });
    expect((await t.api.get(`/incidents/${after}`)).body.policy).to.deep.include({ version: 2 });
  });

  it('incidents without a service follow the default policy: the configured timetable, paging nobody', async () => {
    const created = await t.api.post('/incidents', { title: 'no service', escalate: true });
    const id = String(created.body.id);
    expect(created.body.policy, 'the answer to the call that froze it').to.deep.equal({ id: null, name: 'default', version: 0 });
    expect((await t.api.get(`/incidents/${id}`)).body.policy).to.deep.equal({ id: null, name: 'default', version: 0 });
    const later = String((await t.api.post('/incidents', { title: 'escalated later' })).body.id);
    expect((await t.api.post(`/incidents/${later}/escalate`)).body.policy).to.deep.equal({ id: null, name: 'default', version: 0 });
    await advanceTo(5 * MIN);
    expect((await events(id)).at(-1)?.details).to.deep.include({ level: 1, nobody: true });
  });
});

describe('manual escalation, reassignment and snooze', () => {
  let t: TestContext;
  let worker: Worker;
  let alice: string;
  let bob: string;
  let carol: string;
  let id: string;
  let start: number;
  beforeEach(async () => {
    t = await createTestContext();
    start = t.clock.now().getTime();
    worker = workerFor(t);
    alice = await createUser(t.pool, 'Alice');
    bob = await createUser(t.pool, 'Bob');
    carol = await createUser(t.pool, 'Carol');
    const policy = await createPolicyVia(t.api, {
      name: 'three levels',
      levels: [
        { delay: '5m', targets: [{ type: 'user', id: alice }] },
        { delay: '10m', targets: [{ type: 'user', id: bob }] },
        { delay: '10m', targets: [{ type: 'user', id: carol }] },
      ],
    });
    const service = await createServiceRow(t.pool, 'svc', policy);
    id = String((await t.api.post('/incidents', { title: 'db down', service_id: service, escalate: true })).body.id);
  });
  afterEach(() => t.close());

  const at = (ms: number) => new Date(start + ms);
  const levelsPaged = async () =>
    (
      await t.pool.query<{ level: number; cycle: number; trigger: string }>(
        `SELECT escalation_level AS level, repeat_cycle AS cycle, trigger FROM escalations WHERE incident_id = $1 AND status = 'EXECUTED' ORDER BY executed_at, repeat_cycle, escalation_level`,
        [id],
      )
    ).rows;

  it('escalate on an ESCALATING incident pages the next level now and keeps the timetable from there', async () => {
    t.clock.set(at(MIN));
    const res = await t.api.post(`/incidents/${id}/escalate`, { from_level: 0, actor: 'alice' });
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.deep.include({ state: 'ESCALATING', current_escalation_level: 1 });
    expect(await levelsPaged()).to.deep.equal([{ level: 1, cycle: 0, trigger: 'manual' }]);
    // Level 2 is due its full delay after the manual page, not after the original level-1 time.
    t.clock.set(at(11 * MIN - 1));
    expect((await worker.tick()).executed).to.equal(0);
    t.clock.set(at(11 * MIN));
    expect((await worker.tick()).executed).to.equal(1);
  });

  it('a stale or repeated escalate cannot skip two levels: 409 level_conflict', async () => {
    const [first, second] = await Promise.all([
      t.api.post(`/incidents/${id}/escalate`, { from_level: 0 }),
      t.api.post(`/incidents/${id}/escalate`, { from_level: 0 }),
    ]);
    expect([first.status, second.status].sort()).to.deep.equal([200, 409]);
    const refused = first.status === 409 ? first : second;
    expect(refused.body).to.include({ code: 'level_conflict', current_level: 1, from_level: 0 });
    expect((await levelsPaged()).map((r) => r.level)).to.deep.equal([1]);
  });

  it('escalate on an ESCALATING incident without from_level is the refused transition (409), with a hint', async () => {
    const res = await t.api.post(`/incidents/${id}/escalate`);
    expect(res.status).to.equal(409);
    expect(res.body).to.include({ code: 'invalid_transition', current_state: 'ESCALATING', requested_state: 'ESCALATING' });
    expect(res.body.detail).to.match(/send from_level/);
  });

  it('escalate past the last level is a 409 escalation_exhausted', async () => {
    for (const level of [0, 1, 2]) expect((await t.api.post(`/incidents/${id}/escalate`, { from_level: level })).status).to.equal(200);
    const res = await t.api.post(`/incidents/${id}/escalate`, { from_level: 3 });
    expect(res.status).to.equal(409);
    expect(res.body.code).to.equal('escalation_exhausted');
  });

  it('reassign to a user puts them on the hook without touching the timetable', async () => {
    const res = await t.api.post(`/incidents/${id}/reassign`, { user_id: carol, actor: 'alice' });
    expect(res.status, res.text).to.equal(200);
    expect(res.body.assignees).to.deep.equal([{ user_id: carol, name: 'Carol', via: { type: 'reassignment', id: null } }]);
    t.clock.set(at(5 * MIN));
    expect((await worker.tick()).executed).to.equal(1);
  });

  it('reassign to a level pages it now, in a new pass, and the timetable continues from it', async () => {
    t.clock.set(at(5 * MIN));
    await worker.tick(); // level 1
    t.clock.set(at(15 * MIN));
    await worker.tick(); // level 2
    t.clock.set(at(16 * MIN));
    const res = await t.api.post(`/incidents/${id}/reassign`, { level: 1 });
    expect(res.status, res.text).to.equal(200);
    expect(res.body.current_escalation_level).to.equal(1);
    t.clock.set(at(26 * MIN));
    await worker.tick();
    expect(await levelsPaged()).to.deep.equal([
      { level: 1, cycle: 0, trigger: 'timetable' },
      { level: 2, cycle: 0, trigger: 'timetable' },
      { level: 1, cycle: 1, trigger: 'manual' },
      { level: 2, cycle: 1, trigger: 'timetable' },
    ]);
  });

  it('refuses a reassignment with both or neither of user_id and level, or to a level the policy does not have', async () => {
    expect((await t.api.post(`/incidents/${id}/reassign`, {})).status).to.equal(400);
    expect((await t.api.post(`/incidents/${id}/reassign`, { user_id: carol, level: 1 })).status).to.equal(400);
    const tooHigh = await t.api.post(`/incidents/${id}/reassign`, { level: 4 });
    expect(tooHigh.status).to.equal(400);
    expect(tooHigh.body.errors).to.deep.equal([{ field: 'level', rule: 'maximum', message: "the incident's policy has 3 levels" }]);
    expect((await t.api.post(`/incidents/${id}/reassign`, { user_id: '00000000-0000-4000-8000-000000000000' })).status).to.equal(422);
  });

  it('a snoozed acknowledgement goes back to escalating from level 1 when the snooze ends', async () => {
    t.clock.set(at(2 * MIN));
    await t.api.post(`/incidents/${id}/acknowledge`, { actor: 'alice' });
    const snoozed = await t.api.post(`/incidents/${id}/snooze`, { duration: '30m', actor: 'alice' });
    expect(snoozed.status, snoozed.text).to.equal(200);
    expect(snoozed.body).to.deep.include({ state: 'ACKNOWLEDGED', snoozed_until: at(32 * MIN).toISOString() });

    t.clock.set(at(32 * MIN - 1));
    expect((await worker.tick()).executed).to.equal(0);
    t.clock.set(at(32 * MIN));
    expect((await worker.tick()).executed).to.equal(1);
    const incident = (await t.api.get(`/incidents/${id}`)).body;
    expect(incident).to.deep.include({ state: 'ESCALATING', current_escalation_level: 1, snoozed_until: null });
    const kinds = (await t.api.get<{ items: Json[] }>(`/incidents/${id}/events`)).body.items.map((e) => e.kind);
    expect(kinds.slice(-4)).to.deep.equal(['acknowledged', 'snoozed', 'snooze_ended', 'escalated']);
    t.clock.set(at(42 * MIN));
    expect((await worker.tick()).executed, 'level 2 follows').to.equal(1);
  });

  it('resolving during a snooze cancels it: nothing fires', async () => {
    await t.api.post(`/incidents/${id}/acknowledge`);
    await t.api.post(`/incidents/${id}/snooze`, { duration: '10m' });
    await t.api.post(`/incidents/${id}/resolve`);
    t.clock.set(at(24 * 60 * MIN));
    expect((await worker.tick()).executed).to.equal(0);
  });

  it('snooze is only for acknowledged incidents, for 1m to 24h', async () => {
    const notAcked = await t.api.post(`/incidents/${id}/snooze`, { duration: '30m' });
    expect(notAcked.status).to.equal(409);
    expect(notAcked.body).to.deep.include({ code: 'invalid_state', current_state: 'ESCALATING', allowed_states: ['ACKNOWLEDGED'] });
    await t.api.post(`/incidents/${id}/acknowledge`);
    expect((await t.api.post(`/incidents/${id}/snooze`, { duration: '25h' })).body.errors).to.deep.equal([
      { field: 'duration', rule: 'range', message: 'must be between 1m and 24h' },
    ]);
    expect((await t.api.post(`/incidents/${id}/snooze`, { duration: 'soon' })).status).to.equal(400);
  });
});
