/**
 * A policy level's channels and a page at once (issue 11): `channels` per level (the
 * kinds it uses, overriding each person's rules; absent or null: their rules) and
 * delay `0s`, through create, replace and read, and the ways a body can get them wrong.
 */
import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createUser } from '../support/factories.ts';
import { storedState } from '../support/snapshot.ts';

type Json = Record<string, unknown>;
type Level = { level: number; delay: string; delay_ms: number; channels: string[] | null };

describe('escalation policy levels: channels and delay 0s', () => {
  let t: TestContext;
  let alice: string;
  before(async () => {
    t = await createTestContext();
    alice = await createUser(t.pool, 'Alice');
  });
  after(() => t.close());

  let serial = 0;
  const body = (levels: Json[]) => {
    serial += 1;
    return { name: `channels ${serial}`, levels: levels.map((level) => ({ targets: [{ type: 'user', id: alice }], ...level })) };
  };
  const levelsOf = (res: { body: Json }) => (res.body.levels as Level[]).map(({ level, delay, delay_ms, channels }) => ({ level, delay, delay_ms, channels }));

  it('creates levels with channels, none and null, and a first level at 0s; reads them back the same', async () => {
    const res = await t.api.post(
      '/escalation-policies',
      body([
        { delay: '0s', channels: ['in_app', 'slack'] },
        { delay: '5m', channels: ['email'] },
        { delay: '10m', channels: ['sms', 'voice'] },
        { delay: '15m' },
        { delay: '20m', channels: null },
      ]),
    );
    expect(res.status, res.text).to.equal(201);
    expect(levelsOf(res)).to.deep.equal([
      { level: 1, delay: '0s', delay_ms: 0, channels: ['in_app', 'slack'] },
      { level: 2, delay: '5m', delay_ms: 300_000, channels: ['email'] },
      { level: 3, delay: '10m', delay_ms: 600_000, channels: ['sms', 'voice'] },
      { level: 4, delay: '15m', delay_ms: 900_000, channels: null },
      { level: 5, delay: '20m', delay_ms: 1_200_000, channels: null },
    ]);
    const read = await t.api.get(`/escalation-policies/${String(res.body.id)}`);
    expect(read.body).to.deep.equal(res.body);
    const stored = await t.pool.query('SELECT level, delay_ms, channels FROM escalation_policy_levels WHERE policy_id = $1 ORDER BY level', [res.body.id]);
    expect(stored.rows.map((row: { channels: string[] | null }) => row.channels)).to.deep.equal([['in_app', 'slack'], ['email'], ['sms', 'voice'], null, null]);
  });

  it('all seven channels in a level are accepted', async () => {
    const all = ['email', 'sms', 'voice', 'slack', 'teams', 'webhook', 'in_app'];
    const res = await t.api.post('/escalation-policies', body([{ delay: '1m', channels: all }]));
    expect(res.status, res.text).to.equal(201);
    expect(levelsOf(res)[0]?.channels).to.deep.equal(all);
  });

  it('PUT replaces the channels (a new version), and can drop them', async () => {
    const created = await t.api.post('/escalation-policies', body([{ delay: '1m', channels: ['email'] }]));
    const id = String(created.body.id);
    const replace = (levels: Json[]) =>
      t.api.raw('PUT', `/escalation-policies/${id}`, {
        body: JSON.stringify({ name: created.body.name, levels }),
        headers: { 'content-type': 'application/json' },
      });
    const first = await replace([{ delay: '0s', targets: [{ type: 'user', id: alice }], channels: ['voice'] }]);
    expect(first.status, first.text).to.equal(200);
    expect(first.body.version).to.equal(2);
    expect(levelsOf(first)).to.deep.equal([{ level: 1, delay: '0s', delay_ms: 0, channels: ['voice'] }]);
    const second = await replace([{ delay: '2m', targets: [{ type: 'user', id: alice }] }]);
    expect(levelsOf(second)).to.deep.equal([{ level: 1, delay: '2m', delay_ms: 120_000, channels: null }]);
  });

  it('an incident that escalates under the policy freezes the channels in its snapshot', async () => {
    const created = await t.api.post('/escalation-policies', body([{ delay: '0s', channels: ['in_app'] }]));
    const service = await t.pool.query<{ id: string }>('INSERT INTO services (name, escalation_policy_id) VALUES ($1, $2) RETURNING id', [
      `svc ${serial}`,
      created.body.id,
    ]);
    const incident = await t.api.post('/incidents', { title: 'frozen', service_id: service.rows[0]?.id, escalate: true });
    expect(incident.status, incident.text).to.equal(201);
    const snapshot = await t.pool.query<{ policy_snapshot: { levels: Json[] } }>('SELECT policy_snapshot FROM incidents WHERE id = $1', [incident.body.id]);
    expect(snapshot.rows[0]?.policy_snapshot.levels[0]).to.deep.include({ delay_ms: 0, channels: ['in_app'] });
  });

  const bad: [string, Json, string, string][] = [
    ['an unknown channel', { delay: '1m', channels: ['pigeon'] }, 'levels.0.channels.0', 'enum'],
    ['a channel in upper case', { delay: '1m', channels: ['EMAIL'] }, 'levels.0.channels.0', 'enum'],
    ['an empty list of channels', { delay: '1m', channels: [] }, 'levels.0.channels', 'minItems'],
    ['the same channel twice', { delay: '1m', channels: ['sms', 'sms'] }, 'levels.0.channels', 'uniqueItems'],
    ['eight channels', { delay: '1m', channels: ['email', 'sms', 'voice', 'slack', 'teams', 'webhook', 'in_app', 'email'] }, 'levels.0.channels', 'maxItems'],
    ['channels as a string', { delay: '1m', channels: 'sms' }, 'levels.0.channels', 'type'],
    ['a numeric channel', { delay: '1m', channels: [1] }, 'levels.0.channels.0', 'type'],
    ['a delay between 0 and a second', { delay: '500ms' }, 'levels.0.delay', 'range'],
    ['a delay of 0 without a unit', { delay: '0' }, 'levels.0.delay', 'pattern'],
    ['a negative delay', { delay: '-1s' }, 'levels.0.delay', 'pattern'],
  ];
  for (const [name, level, field, rule] of bad) {
    it(`refuses ${name}: 400 naming ${field} (${rule}), nothing stored`, async () => {
      const before = await storedState(t.pool);
      const res = await t.api.post<{ code: string; errors: Json[] }>('/escalation-policies', body([level]));
      expect(res.status, res.text).to.equal(400);
      expect(res.body.errors.map((e) => `${String(e.field)}:${String(e.rule)}`)).to.include(`${field}:${rule}`);
      expect(await storedState(t.pool)).to.deep.equal(before);
    });
  }
});
