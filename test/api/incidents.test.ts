import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';

type Json = Record<string, unknown>;

describe('incidents API: open, read, list', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  it('POST /incidents opens an incident in OPEN and answers 201 with it', async () => {
    const res = await t.api.post('/incidents', { title: 'db replica lag', description: 'replica 3 is 40 s behind', severity: 'warning' });
    expect(res.status).to.equal(201);
    expect(res.headers.get('location')).to.equal(`/incidents/${String(res.body.id)}`);
    expect(res.body).to.include({
      title: 'db replica lag',
      description: 'replica 3 is 40 s behind',
      severity: 'warning',
      state: 'OPEN',
      current_escalation_level: 0,
      version: 1,
      created_at: '2026-03-01T09:00:00.000Z',
      acknowledged_at: null,
    });
  });

  it('defaults severity to error and description to null', async () => {
    const res = await t.api.post('/incidents', { title: 'disk full' });
    expect(res.body).to.include({ severity: 'error', description: null });
  });

  it('with escalate: true, answers ESCALATING and schedules level 1 after the level-1 delay', async () => {
    const res = await t.api.post('/incidents', { title: 'api 5xx', severity: 'critical', escalate: true });
    expect(res.status).to.equal(201);
    expect(res.body.state).to.equal('ESCALATING');
    const escalations = await t.api.get<{ items: Json[] }>(`/incidents/${String(res.body.id)}/escalations`);
    expect(escalations.body.items).to.have.length(1);
    expect(escalations.body.items[0]).to.include({ level: 1, repeat_cycle: 0, status: 'PENDING', scheduled_at: '2026-03-01T09:05:00.000Z' });
    const score = await t.redis.zScore(t.keys.pending, String(escalations.body.items[0]?.id));
    expect(score).to.equal(Date.parse('2026-03-01T09:05:00.000Z'));
  });

  it('GET /incidents/:id returns the incident; an unknown id is 404; a malformed id is 400', async () => {
    const created = await t.api.post('/incidents', { title: 'cert expiry' });
    const found = await t.api.get(`/incidents/${String(created.body.id)}`);
    expect(found.status).to.equal(200);
    expect(found.body).to.deep.equal(created.body);

    const missing = await t.api.get('/incidents/00000000-0000-4000-8000-000000000000');
    expect(missing.status).to.equal(404);
    expect(missing.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(missing.body).to.include({ code: 'not_found', status: 404 });

    const malformed = await t.api.get('/incidents/not-a-uuid');
    expect(malformed.status).to.equal(400);
    expect(malformed.body).to.deep.include({ code: 'validation_failed', errors: [{ field: 'id', rule: 'format', message: 'must be a UUID' }] });
  });

  it('the seed path GET /incidents/escalations/:incidentId gives the same answer as /incidents/:id/escalations', async () => {
    const created = await t.api.post('/incidents', { title: 'queue backlog', escalate: true });
    const id = String(created.body.id);
    const seedPath = await t.api.get(`/incidents/escalations/${id}`);
    const newPath = await t.api.get(`/incidents/${id}/escalations`);
    expect(seedPath.status).to.equal(200);
    expect(seedPath.body).to.deep.equal(newPath.body);
    expect((await t.api.get('/incidents/escalations/00000000-0000-4000-8000-000000000000')).status).to.equal(404);
  });

  it('GET /incidents/:id/events is the audit log, oldest first, with actor and note', async () => {
    const created = await t.api.post('/incidents', { title: 'login errors', actor: 'alertmanager' });
    const id = String(created.body.id);
    t.clock.advance(60_000);
    await t.api.post(`/incidents/${id}/acknowledge`, { actor: 'alice', note: 'looking' });
    const events = await t.api.get<{ items: Json[] }>(`/incidents/${id}/events`);
    expect(events.body.items.map((e) => [e.kind, e.from_state, e.to_state, e.actor, e.note, e.occurred_at])).to.deep.equal([
      ['opened', null, 'OPEN', 'alertmanager', null, '2026-03-01T09:00:00.000Z'],
      ['acknowledged', 'OPEN', 'ACKNOWLEDGED', 'alice', 'looking', '2026-03-01T09:01:00.000Z'],
    ]);
    t.clock.set('2026-03-01T09:00:00.000Z');
  });
});

describe('incidents API: listing with keyset pagination', () => {
  let t: TestContext;
  const ids: string[] = [];
  before(async () => {
    t = await createTestContext();
    // 7 incidents, one per second, the 3rd and 6th acknowledged.
    for (let i = 0; i < 7; i += 1) {
      const res = await t.api.post('/incidents', { title: `incident ${i}` });
      ids.push(String(res.body.id));
      if (i === 2 || i === 5) await t.api.post(`/incidents/${String(res.body.id)}/acknowledge`);
      t.clock.advance(1000);
    }
  });
  after(() => t.close());

  it('lists newest first and pages with next_cursor until it is null', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
      const res = await t.api.get<{ items: Json[]; next_cursor: string | null }>(`/incidents${query}`);
      expect(res.status).to.equal(200);
      seen.push(...res.body.items.map((item) => String(item.id)));
      cursor = res.body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).to.equal(3);
    expect(seen).to.deep.equal([...ids].reverse());
  });

  it('pages correctly through incidents created in the same millisecond', async () => {
    const sameInstant: string[] = [];
    for (let i = 0; i < 4; i += 1) sameInstant.push(String((await t.api.post('/incidents', { title: `burst ${i}` })).body.id));
    const first = await t.api.get<{ items: Json[]; next_cursor: string }>('/incidents?limit=2');
    const second = await t.api.get<{ items: Json[] }>(`/incidents?limit=2&cursor=${first.body.next_cursor}`);
    const got = [...first.body.items, ...second.body.items].map((item) => String(item.id));
    expect(got).to.have.members(sameInstant);
  });

  it('filters by state', async () => {
    const res = await t.api.get<{ items: Json[] }>('/incidents?state=ACKNOWLEDGED');
    expect(res.body.items.map((item) => item.id)).to.deep.equal([ids[5], ids[2]]);
  });

  it('refuses a bad state, limit, cursor or an unknown parameter with 400 naming it', async () => {
    const cases: [string, string, string][] = [
      ['?state=open', 'state', 'enum'],
      ['?limit=0', 'limit', 'minimum'],
      ['?limit=201', 'limit', 'maximum'],
      ['?limit=ten', 'limit', 'type'],
      ['?cursor=garbage', 'cursor', 'format'],
      ['?status=OPEN', 'status', 'additionalProperties'],
      ['?limit=1&limit=2', 'limit', 'maxItems'],
    ];
    for (const [query, field, rule] of cases) {
      const res = await t.api.get<{ errors: Json[]; code: string }>(`/incidents${query}`);
      expect(res.status, query).to.equal(400);
      expect(res.body.code).to.equal('validation_failed');
      expect(res.body.errors[0], query).to.include({ field, rule });
    }
  });
});
