/**
 * The outbox in GET /stats (and so `klaxon stats`, which reads the same), the API's
 * /metrics gauges, and the notifier's own counters and latency histogram.
 */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { registerNotifierMetrics } from '../../src/metrics/notifications.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createUser } from '../support/factories.ts';
import { sample } from '../support/metrics.ts';
import { workerFor } from '../support/worker.ts';
import { MIN, addMethod, addRule, notifierFor, openIncident, scriptedChannel, serviceWith } from './outbox-support.ts';

describe('notifications in /stats and /metrics', () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await createTestContext();
  });
  afterEach(() => t.close());

  it('pending, the oldest due, and sent/failed/skipped by channel; the notifier counts and times what it sends', async () => {
    const alice = await createUser(t.pool, 'Alice');
    const voice = await addMethod(t, alice, 'voice', '+4915112345678', 3);
    const email = (await t.pool.query<{ id: string }>(`SELECT id FROM contact_methods WHERE user_id = $1 AND kind = 'email'`, [alice])).rows[0]?.id ?? '';
    const inApp = (await t.pool.query<{ id: string }>(`SELECT id FROM contact_methods WHERE user_id = $1 AND kind = 'in_app'`, [alice])).rows[0]?.id ?? '';
    await addRule(t, alice, email, 0);
    await addRule(t, alice, inApp, 0);
    await addRule(t, alice, voice, 5 * MIN);
    await openIncident(t, await serviceWith(t, [{ delay: '1m', users: [alice] }]));
    t.clock.advance(MIN);
    await workerFor(t).tick();
    t.clock.advance(1_500);

    let stats = (await t.api.get<{ notifications: unknown }>('/stats')).body.notifications;
    expect(stats).to.deep.equal({ pending: 3, due: 2, oldest_pending_age_ms: 1_500, by_channel: {} });
    let text = (await t.api.get('/metrics')).text;
    expect(sample(text, 'klaxon_notifications_pending')).to.equal(3);
    expect(sample(text, 'klaxon_notifications_due')).to.equal(2);
    expect(sample(text, 'klaxon_notifications_oldest_pending_age_seconds')).to.equal(1.5);

    const registry = new Registry();
    const emailChannel = scriptedChannel('email');
    emailChannel.script({ status: 'permanent', error: '550 no such mailbox' });
    await notifierFor(t, { email: emailChannel, in_app: scriptedChannel('in_app') }, { metrics: registerNotifierMetrics(registry) }).runOnce();

    stats = (await t.api.get<{ notifications: unknown }>('/stats')).body.notifications;
    // The e-mail failed; no fallback (every other method already has its row for this page); the call waits for its rule.
    expect(stats).to.deep.include({
      pending: 1,
      due: 0,
      oldest_pending_age_ms: null,
      by_channel: { email: { sent: 0, failed: 1, skipped: 0 }, in_app: { sent: 1, failed: 0, skipped: 0 } },
    });
    text = await registry.metrics();
    expect(sample(text, 'klaxon_notifications_total{channel="in_app",outcome="sent"}')).to.equal(1);
    expect(sample(text, 'klaxon_notifications_total{channel="email",outcome="failed"}')).to.equal(1);
    // Due 1.5 s before the notifier ran (the test clock): the latency runs from the commit.
    expect(sample(text, 'klaxon_notification_latency_seconds_count{channel="in_app"}')).to.equal(1);
    expect(sample(text, 'klaxon_notification_latency_seconds_sum{channel="in_app"}')).to.equal(1.5);
  });
});
