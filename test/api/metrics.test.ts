import { once } from 'node:events';
import { expect } from 'chai';
import { createApp, createHttpServer } from '../../src/api/app.ts';
import { createPool } from '../../src/db/pool.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
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

  it('reports pending and overdue escalations, and the age of the oldest overdue one, at the clock\'s now', async () => {
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

  it('still answers when Postgres is down, without the escalation gauges', async () => {
    // Nothing listens on port 1: connections are refused at once.
    const deadPool = createPool({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', applicationName: 'klaxon-test', logger: t.deps.logger });
    const server = createHttpServer(createApp({ ...t.deps, metrics: createMetrics({ escalationStats: { pool: deadPool, clock: t.clock } }) }));
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
