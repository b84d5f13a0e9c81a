import type { Server } from 'node:http';
import { expect } from 'chai';
import { type Metrics, createMetrics } from '../../src/metrics/metrics.ts';
import { startMetricsServer } from '../../src/worker/metrics-server.ts';
import { Authenticator } from '../../src/auth/authenticate.ts';
import type { Scope } from '../../src/domain/scopes.ts';
import { createToken } from '../../src/commands/tokens.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { sample } from '../support/metrics.ts';
import { seedDueEscalations, workerFor } from '../support/worker.ts';

describe('worker metrics', () => {
  let t: TestContext;
  let metrics: Metrics;
  beforeEach(async () => {
    t = await createTestContext();
    metrics = createMetrics();
  });
  afterEach(() => t.close());

  const text = () => metrics.registry.metrics();
  const bucket = async (le: string) => sample(await text(), `klaxon_escalation_lateness_seconds_bucket{le="${le}"}`);

  it('counts executions with their lateness, stamped and at commit, and the start-up rebuild of the index, after a tick', async () => {
    const due = t.clock.now();
    await seedDueEscalations(t, 2, due);
    t.clock.set(new Date(due.getTime() + 3)); // 3 ms late when stamped
    // A COMMIT that takes 40 ms (a slow WAL flush): the page is durable 43 ms late.
    const slowCommit = {
      beforeCommit: () => {
        t.clock.advance(40);
      },
    };
    const worker = workerFor(t, {}, t.clock, slowCommit, metrics);
    expect((await worker.tick()).executed).to.equal(2);
    await worker.indexRebuilt();

    expect(sample(await text(), 'klaxon_escalations_executed_total')).to.equal(2);
    expect(await bucket('0.0025')).to.equal(0);
    expect(await bucket('0.005')).to.equal(2);
    expect(sample(await text(), 'klaxon_escalation_lateness_seconds_sum')).to.be.closeTo(0.006, 1e-9);
    const metricsText = await text();
    const atCommit = (le: string) => sample(metricsText, `klaxon_escalation_lateness_at_commit_seconds_bucket{le="${le}"}`);
    expect(atCommit('0.025')).to.equal(0);
    expect(atCommit('0.05')).to.equal(2);
    expect(sample(metricsText, 'klaxon_escalation_lateness_at_commit_seconds_sum')).to.be.closeTo(0.086, 1e-9);
    expect(sample(await text(), 'klaxon_escalations_cancelled_total')).to.equal(0);
    expect(sample(await text(), 'klaxon_reconciler_runs_total{reason="worker start"}')).to.equal(1);
  });

  it('counts what a Postgres drain executes too (cron mode)', async () => {
    const due = t.clock.now();
    await seedDueEscalations(t, 3, due, { index: false });
    t.clock.set(new Date(due.getTime() + 2_000));
    const worker = workerFor(t, {}, t.clock, undefined, metrics);
    expect((await worker.runOnce()).executed).to.equal(3);

    expect(sample(await text(), 'klaxon_escalations_executed_total')).to.equal(3);
    expect(await bucket('1')).to.equal(0);
    expect(await bucket('2.5')).to.equal(3);
  });

  it('serves /metrics on its own port to a token with the metrics scope (401 without, 403 without the scope), and 404 elsewhere', async () => {
    const authenticator = new Authenticator(t.pool, t.clock, t.deps.logger);
    const server: Server = await startMetricsServer(metrics, 0, '127.0.0.1', t.deps.logger, authenticator);
    const tokenWith = async (scopes: Scope[]) => (await createToken(t.deps, { name: 'scraper', scopes, teamId: null, expiresAt: null }, { via: 'test' })).token;
    try {
      const { port } = server.address() as { port: number };
      const url = `http://127.0.0.1:${port}/metrics`;
      const anonymous = await fetch(url);
      expect(anonymous.status).to.equal(401);
      expect(anonymous.headers.get('www-authenticate')).to.equal('Bearer realm="klaxon"');
      expect((await fetch(url, { headers: { authorization: `Bearer ${await tokenWith(['read'])}` } })).status).to.equal(403);
      const res = await fetch(url, { headers: { authorization: `Bearer ${await tokenWith(['metrics'])}` } });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
      expect(await res.text()).to.include('# TYPE klaxon_escalations_executed_total counter');
      // Refusals are problems, as the API's are.
      const refusals: [Response, number, string][] = [
        [anonymous, 401, 'unauthenticated'],
        [await fetch(url, { headers: { authorization: `Bearer ${await tokenWith(['read'])}` } }), 403, 'insufficient_scope'],
        [await fetch(`http://127.0.0.1:${port}/`), 404, 'route_not_found'],
        [await fetch(url, { method: 'POST' }), 405, 'method_not_allowed'],
      ];
      for (const [answer, status, code] of refusals) {
        expect(answer.status).to.equal(status);
        expect(answer.headers.get('content-type')).to.equal('application/problem+json');
        expect(await answer.json()).to.deep.include({ status, code, type: `urn:klaxon:problem:${code}` });
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
