import { once } from 'node:events';
import { expect } from 'chai';
import { createApp, createHttpServer } from '../../src/api/app.ts';
import { createToken } from '../../src/commands/tokens.ts';
import { createPool } from '../../src/db/pool.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { KEEP_ALIVE_TIMEOUT_MS, type TestContext, createTestContext } from '../support/context.ts';
import { apiClient } from '../support/http.ts';
import { sample } from '../support/metrics.ts';
import { seedDueEscalations } from '../support/worker.ts';

describe('GET /metrics (API)', () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await createTestContext();
  });
  afterEach(() => t.close());

  it('answers the text format with request durations by route template, never by raw path', async () => {
    const id = String((await t.api.post('/incidents', { title: 'disk full', severity: 'critical' })).body.id);
    expect((await t.api.get(`/incidents/${id}`)).status).to.equal(200);
    expect((await t.api.get(`/incidents/${id}`)).status).to.equal(200);
    expect((await t.api.get('/no/such/thing')).status).to.equal(404);

    const res = await t.api.get('/metrics');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    expect(sample(res.text, 'klaxon_http_request_duration_seconds_count{method="GET",route="/incidents/:id",status="200"}')).to.equal(2);
    expect(sample(res.text, 'klaxon_http_request_duration_seconds_count{method="POST",route="/incidents",status="201"}')).to.equal(1);
    expect(sample(res.text, 'klaxon_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}')).to.equal(1);
    expect(res.text).not.to.include(id);
    expect(res.text).not.to.include('/no/such/thing');
    expect(res.text).to.include('process_cpu_user_seconds_total');
  });

  it("reports pending and overdue escalations, and the age of the oldest overdue one, at the clock's now", async () => {
    const now = t.clock.now().getTime();
    await seedDueEscalations(t, 2, new Date(now - 90_000));
    await seedDueEscalations(t, 1, new Date(now - 1_000));
    await seedDueEscalations(t, 4, new Date(now + 60_000));

    let text = (await t.api.get('/metrics')).text;
    expect(sample(text, 'klaxon_escalations_pending')).to.equal(7);
    expect(sample(text, 'klaxon_escalations_overdue')).to.equal(3);
    expect(sample(text, 'klaxon_escalations_oldest_overdue_age_seconds')).to.equal(90);

    t.clock.set(new Date(now + 60_000));
    text = (await t.api.get('/metrics')).text;
    expect(sample(text, 'klaxon_escalations_overdue')).to.equal(7);
    expect(sample(text, 'klaxon_escalations_oldest_overdue_age_seconds')).to.equal(150);
  });

  it('labels a refused request with the route it matched (401, 403, 413, 415, malformed JSON, U+0000), and records its audit row with it', async () => {
    const { token: reader } = await createToken(t.deps, { name: 'reader', scopes: ['read'], teamId: null, expiresAt: null }, { via: 'test' });
    const json = { 'content-type': 'application/json' };
    const refusals: [number, () => Promise<{ status: number }>][] = [
      [401, () => t.api.as(null).post('/incidents', { title: 'x' })],
      [403, () => t.api.as(reader).post('/incidents', { title: 'x' })],
      [413, () => t.api.raw('POST', '/incidents', { body: JSON.stringify({ title: 'x'.repeat(70 * 1024) }), headers: json })],
      [415, () => t.api.raw('POST', '/incidents', { body: 'title=x', headers: { 'content-type': 'text/plain' } })],
      [400, () => t.api.raw('POST', '/incidents', { body: '{"title":', headers: json })],
      [400, () => t.api.raw('POST', '/incidents', { body: '{"title":"a\\u0000b"}', headers: json })],
    ];
    for (const [status, send] of refusals) expect((await send()).status).to.equal(status);
    const text = (await t.api.get('/metrics')).text;
    for (const status of [401, 403, 413, 415]) {
      expect(sample(text, `klaxon_http_request_duration_seconds_count{method="POST",route="/incidents",status="${status}"}`), String(status)).to.equal(1);
    }
    expect(sample(text, 'klaxon_http_request_duration_seconds_count{method="POST",route="/incidents",status="400"}')).to.equal(2);
    expect(text).to.not.include('route="unmatched",status="4');
    await t.deps.audit.idle();
    const { rows } = await t.ownerPool.query<{ route: string | null; status: number }>('SELECT route, status FROM audit_log ORDER BY id');
    // The 401 has no token to name: no row. Every other refusal is audited with its route.
    expect(rows.map((row) => [row.route, row.status])).to.deep.equal([
      ['/incidents', 403],
      ['/incidents', 413],
      ['/incidents', 415],
      ['/incidents', 400],
      ['/incidents', 400],
    ]);
  });

  it('counts the levels the API executes (a manual escalate, a reassignment to a level) and the exhaustion it causes', async () => {
    const id = String((await t.api.post('/incidents', { title: 'paged by hand', escalate: true })).body.id);
    // The default policy: three levels, no repeat. Each manual escalate pages the next level now; after the third, it is exhausted.
    for (const level of [0, 1, 2]) expect((await t.api.post(`/incidents/${id}/escalate`, { from_level: level })).status).to.equal(200);
    const other = String((await t.api.post('/incidents', { title: 'reassigned', escalate: true })).body.id);
    expect((await t.api.post(`/incidents/${other}/reassign`, { level: 2 })).status).to.equal(200);
    const text = (await t.api.get('/metrics')).text;
    expect(sample(text, 'klaxon_escalations_executed_total')).to.equal(4);
    expect(sample(text, 'klaxon_escalations_exhausted_total')).to.equal(1);
  });

  it('still answers when Postgres is down, without the escalation gauges', async () => {
    // Nothing listens on port 1: connections are refused at once.
    const deadPool = createPool({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', applicationName: 'klaxon-test', logger: t.deps.logger });
    const server = createHttpServer(
      createApp({ ...t.deps, metrics: createMetrics({ escalationStats: { pool: deadPool, clock: t.clock } }) }),
      KEEP_ALIVE_TIMEOUT_MS,
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const address = server.address() as { port: number };
      const res = await apiClient(`http://127.0.0.1:${address.port}`, t.adminToken).get('/metrics');
      expect(res.status).to.equal(200);
      expect(sample(res.text, 'klaxon_escalations_pending')).to.equal(undefined);
      expect(sample(res.text, 'klaxon_escalations_overdue')).to.equal(undefined);
      expect(res.text).to.include('klaxon_http_request_duration_seconds');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await deadPool.end();
    }
  });
});
