import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createPolicyVia, createServiceRow, createTeam, createUser, createWeeklySchedule } from '../support/factories.ts';
import { storedState } from '../support/snapshot.ts';

type Json = Record<string, unknown>;
const MISSING = '00000000-0000-4000-8000-000000000000';

describe('escalation policies API', () => {
  let t: TestContext;
  let alice: string;
  let bob: string;
  let team: string;
  let schedule: string;
  before(async () => {
    t = await createTestContext();
    alice = await createUser(t.pool, 'Alice');
    bob = await createUser(t.pool, 'Bob');
    team = await createTeam(t.pool, 'Payments', [alice, bob]);
    schedule = await createWeeklySchedule(t.api, 'Payments primary', [alice, bob]);
  });
  after(() => t.close());

  const validBody = () => ({
    name: `Payments ${Math.random().toString(36).slice(2, 7)}`,
    repeat_count: 1,
    levels: [
      { delay: '5m', targets: [{ type: 'schedule', id: schedule }] },
      {
        delay: '15m',
        targets: [
          { type: 'user', id: bob },
          { type: 'team', id: team },
        ],
      },
    ],
  });

  it('creates a policy (201) with its levels, delays and named targets, at version 1', async () => {
    const body = validBody();
    const res = await t.api.post('/escalation-policies', body);
    expect(res.status).to.equal(201);
    expect(res.headers.get('location')).to.equal(`/escalation-policies/${String(res.body.id)}`);
    expect(res.body).to.deep.include({ name: body.name, repeat_count: 1, version: 1, description: null });
    expect(res.body.levels).to.deep.equal([
      { level: 1, delay: '5m', delay_ms: 300_000, targets: [{ type: 'schedule', id: schedule, name: 'Payments primary' }], channels: null },
      {
        level: 2,
        delay: '15m',
        delay_ms: 900_000,
        targets: [
          { type: 'user', id: bob, name: 'Bob' },
          { type: 'team', id: team, name: 'Payments' },
        ],
        channels: null,
      },
    ]);
    expect((await t.api.get(`/escalation-policies/${String(res.body.id)}`)).body).to.deep.equal(res.body);
  });

  it('lists policies by name with pagination', async () => {
    for (const name of ['zz-b', 'zz-a', 'zz-c']) await createPolicyVia(t.api, { ...validBody(), name });
    const first = await t.api.get<{ items: Json[]; next_cursor: string | null }>('/escalation-policies?limit=2');
    const names: unknown[] = first.body.items.map((p) => p.name);
    let cursor = first.body.next_cursor;
    while (cursor) {
      const page = await t.api.get<{ items: Json[]; next_cursor: string | null }>(`/escalation-policies?limit=2&cursor=${cursor}`);
      names.push(...page.body.items.map((p) => p.name));
      cursor = page.body.next_cursor;
    }
    expect(names.slice(-3)).to.deep.equal(['zz-a', 'zz-b', 'zz-c']);
  });

  it('PUT replaces the policy and bumps its version', async () => {
    const id = await createPolicyVia(t.api, validBody());
    const res = await t.api.raw('PUT', `/escalation-policies/${id}`, {
      body: JSON.stringify({ name: 'Replaced', levels: [{ delay: '1m', targets: [{ type: 'user', id: alice }] }] }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.include({ name: 'Replaced', version: 2, repeat_count: 0 });
    expect((res.body.levels as Json[]).length).to.equal(1);
  });

  const badPolicies: [string, (body: Json) => Json, number, string, string][] = [
    ['no levels', (b) => ({ ...b, levels: [] }), 400, 'levels', 'minItems'],
    ['a level without targets', (b) => ({ ...b, levels: [{ delay: '5m', targets: [] }] }), 400, 'levels.0.targets', 'minItems'],
    ['a delay under a second', (b) => ({ ...b, levels: [{ delay: '500ms', targets: [{ type: 'user', id: alice }] }] }), 400, 'levels.0.delay', 'range'],
    ['a delay over a week', (b) => ({ ...b, levels: [{ delay: '8d', targets: [{ type: 'user', id: alice }] }] }), 400, 'levels.0.delay', 'range'],
    [
      'a delay that is not a duration',
      (b) => ({ ...b, levels: [{ delay: '5 minutes', targets: [{ type: 'user', id: alice }] }] }),
      400,
      'levels.0.delay',
      'pattern',
    ],
    [
      'the same target twice in a level',
      (b) => ({
        ...b,
        levels: [
          {
            delay: '5m',
            targets: [
              { type: 'user', id: alice },
              { type: 'user', id: alice.toUpperCase() },
            ],
          },
        ],
      }),
      400,
      'levels.0.targets.1',
      'uniqueTarget',
    ],
    [
      'a target user that does not exist',
      (b) => ({
        ...b,
        levels: [
          {
            delay: '5m',
            targets: [
              { type: 'user', id: alice },
              { type: 'user', id: MISSING },
            ],
          },
        ],
      }),
      422,
      'levels.0.targets.1.id',
      'exists',
    ],
    [
      'a target schedule that does not exist',
      (b) => ({ ...b, levels: [{ delay: '5m', targets: [{ type: 'schedule', id: MISSING }] }] }),
      422,
      'levels.0.targets.0.id',
      'exists',
    ],
    ['an unknown target type', (b) => ({ ...b, levels: [{ delay: '5m', targets: [{ type: 'pager', id: alice }] }] }), 400, 'levels.0.targets.0.type', 'enum'],
    ['a malformed target id', (b) => ({ ...b, levels: [{ delay: '5m', targets: [{ type: 'user', id: 'alice' }] }] }), 400, 'levels.0.targets.0.id', 'format'],
    ['more than 20 repeats', (b) => ({ ...b, repeat_count: 21 }), 400, 'repeat_count', 'maximum'],
    [
      'more than 20 levels',
      (b) => ({ ...b, levels: Array.from({ length: 21 }, () => ({ delay: '1m', targets: [{ type: 'user', id: alice }] })) }),
      400,
      'levels',
      'maxItems',
    ],
    ['no name', (b) => ({ ...b, name: undefined }), 400, 'name', 'required'],
    ['an unknown field', (b) => ({ ...b, escalate_after: '5m' }), 400, 'escalate_after', 'additionalProperties'],
  ];
  for (const [name, mutate, status, field, rule] of badPolicies) {
    it(`refuses a policy with ${name}: ${status} naming ${field} (${rule}), and stores nothing`, async () => {
      const before = await storedPolicies();
      const res = await t.api.post<{ code: string; errors: Json[] }>('/escalation-policies', mutate(validBody()));
      expect(res.status, res.text).to.equal(status);
      expect(res.body.errors.map((e) => `${String(e.field)}:${String(e.rule)}`)).to.include(`${field}:${rule}`);
      expect(await storedPolicies()).to.deep.equal(before);
    });
  }

  it('refuses a duplicate name, whatever its case: 409 already_exists naming name', async () => {
    const body = validBody();
    await createPolicyVia(t.api, body);
    const res = await t.api.post('/escalation-policies', { ...body, name: body.name.toUpperCase() });
    expect(res.status).to.equal(409);
    expect(res.body).to.include({ code: 'already_exists', field: 'name' });
  });

  it('deletes an unused policy (204); a policy a service owns cannot be deleted (409 in_use naming it)', async () => {
    const unused = await createPolicyVia(t.api, validBody());
    expect((await t.api.raw('DELETE', `/escalation-policies/${unused}`, {})).status).to.equal(204);
    expect((await t.api.get(`/escalation-policies/${unused}`)).status).to.equal(404);

    const owned = await createPolicyVia(t.api, validBody());
    await createServiceRow(t.pool, 'checkout', owned);
    const refused = await t.api.raw('DELETE', `/escalation-policies/${owned}`, {});
    expect(refused.status).to.equal(409);
    expect(refused.body).to.deep.include({ code: 'in_use' });
    expect(refused.body.used_by).to.deep.equal([{ kind: 'service', id: (refused.body.used_by as Json[])[0]?.id, name: 'checkout' }]);
  });

  it('a policy a live incident follows cannot be deleted; once the incident is resolved it can', async () => {
    const policy = await createPolicyVia(t.api, validBody());
    const service = await createServiceRow(t.pool, 'ledger', policy);
    const incident = String((await t.api.post('/incidents', { title: 'ledger drift', service_id: service, escalate: true })).body.id);
    await t.pool.query(`UPDATE services SET escalation_policy_id = NULL WHERE id = $1`, [service]);
    expect((await t.api.raw('DELETE', `/escalation-policies/${policy}`, {})).body).to.include({ code: 'in_use' });
    await t.api.post(`/incidents/${incident}/resolve`);
    expect((await t.api.raw('DELETE', `/escalation-policies/${policy}`, {})).status).to.equal(204);
  });

  it('a user, schedule or team that a policy pages cannot be deleted from under it', async () => {
    const carol = await createUser(t.pool, 'Carol');
    await createPolicyVia(t.api, { ...validBody(), levels: [{ delay: '5m', targets: [{ type: 'user', id: carol }] }] });
    const res = await t.api.raw('DELETE', `/schedules/${schedule}`, {});
    expect(res.status).to.equal(409);
    expect(res.body).to.include({ code: 'in_use' });
    const direct = await t.pool.query(`DELETE FROM users WHERE id = $1`, [carol]).catch((error: { code: string }) => error);
    expect(direct).to.include({ code: '23503' });
  });

  async function storedPolicies(): Promise<unknown> {
    const [policies, levels, targets] = await Promise.all([
      t.pool.query(`SELECT * FROM escalation_policies ORDER BY id`),
      t.pool.query(`SELECT * FROM escalation_policy_levels ORDER BY policy_id, level`),
      t.pool.query(`SELECT * FROM escalation_policy_targets ORDER BY policy_id, level, position`),
    ]);
    return { policies: policies.rows, levels: levels.rows, targets: targets.rows, all: await storedState(t.pool) };
  }
});
