/**
 * The notifier (src/notify/notifier.ts) against the stand-ins: a level executes, each
 * paged person's methods get their row and the notifier sends it once (e-mail through a
 * real SMTP server, SMS through the Twilio stand-in, Slack, a webhook, in-app); delays
 * re-checked against the incident; retries, fallbacks, `notification_failed`; claim
 * fencing; throttles and digests; the stop-paging notices. The notifier is driven pass
 * by pass (runOnce / drain) on the test's clock: nothing here sleeps.
 */
import { expect } from 'chai';
import { createEmailChannel } from '../../src/notify/channels/email.ts';
import { createInAppChannel } from '../../src/notify/channels/in-app.ts';
import { createSlackChannel } from '../../src/notify/channels/slack.ts';
import { createTwilioSmsChannel, createTwilioVoiceChannel } from '../../src/notify/channels/twilio.ts';
import { createWebhookChannel } from '../../src/notify/channels/webhook.ts';
import type { ChannelSet } from '../../src/notify/channel-set.ts';
import { verifyAction } from '../../src/notify/links.ts';
import { actionKeysFrom } from '../../src/notify/links.ts';
import type { Worker } from '../../src/worker/worker.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createUser } from '../support/factories.ts';
import { type RecordingServer, startRecordingServer } from '../support/standins/recording-http.ts';
import { type SlackStandIn, startSlackStandIn } from '../support/standins/slack.ts';
import { type SmtpStandIn, startSmtpStandIn } from '../support/standins/smtp.ts';
import { type TwilioStandIn, startTwilioStandIn } from '../support/standins/twilio.ts';
import { workerFor } from '../support/worker.ts';
import {
  LINK_SECRET,
  MIN,
  type ScriptedChannel,
  addMethod,
  addRule,
  attemptsOf,
  methodsOf,
  notifierFor,
  openIncident,
  outbox,
  scriptedChannel,
  serviceWith,
} from './outbox-support.ts';

const PHONE = '+4915112345678';

describe('the notifier, end to end against the stand-ins', () => {
  let t: TestContext;
  let worker: Worker;
  let smtp: SmtpStandIn;
  let twilio: TwilioStandIn;
  let slack: SlackStandIn;
  let receiver: RecordingServer;
  let channels: ChannelSet;
  beforeEach(async () => {
    t = await createTestContext();
    worker = workerFor(t);
    [smtp, twilio, slack, receiver] = await Promise.all([startSmtpStandIn(), startTwilioStandIn(), startSlackStandIn(), startRecordingServer()]);
    const twilioOptions = {
      accountSid: twilio.accountSid,
      authToken: twilio.authToken,
      from: '+15005550006',
      clock: t.clock,
      baseUrl: twilio.baseUrl,
      timeoutMs: 2_000,
    };
    channels = {
      email: createEmailChannel({ host: smtp.host, port: smtp.port, secure: false, from: 'klaxon <pager@klaxon.test>', pool: false, socketTimeoutMs: 2_000 }),
      sms: createTwilioSmsChannel(twilioOptions),
      voice: createTwilioVoiceChannel({ ...twilioOptions, gatherActionUrl: (id) => `https://klaxon.test/integrations/twilio/voice/${id}/gather` }),
      slack: createSlackChannel({ botToken: slack.botToken, clock: t.clock, apiBaseUrl: slack.apiBaseUrl, timeoutMs: 2_000 }),
      webhook: createWebhookChannel({ secrets: ['webhook-secret'], clock: t.clock, timeoutMs: 2_000 }),
      in_app: createInAppChannel(),
    };
  });
  afterEach(async () => {
    await channels.email?.close?.();
    await Promise.all([smtp.close(), twilio.close(), slack.close(), receiver.close()]);
    await t.close();
  });

  it('a level executes: every method of every paged person gets one message, each recorded SENT with its attempt', async () => {
    const alice = await createUser(t.pool, 'Alice');
    await addMethod(t, alice, 'sms', PHONE, 2);
    await addMethod(t, alice, 'slack', 'U012ALICE', 3);
    await addMethod(t, alice, 'webhook', `${receiver.url}/pager`, 4);
    const incident = await openIncident(t, await serviceWith(t, [{ delay: '1m', users: [alice] }]), 'checkout 5xx above 5%');
    t.clock.advance(MIN);
    await worker.tick();

    const notifier = notifierFor(t, channels);
    const pass = await notifier.runOnce();
    expect(pass).to.deep.include({ claimed: 5, sent: 5, failed: 0, retried: 0 });
    // A second pass finds nothing: each was sent once.
    expect((await notifier.runOnce()).claimed).to.equal(0);

    expect(smtp.received).to.have.length(1);
    expect(smtp.received[0]?.parsed.subject).to.contain('checkout 5xx above 5%');
    expect(twilio.messages).to.have.length(1);
    expect(twilio.messages[0]).to.deep.include({ to: PHONE });
    expect(twilio.messages[0]?.body).to.match(/ACK \d{4}/);
    expect(slack.messages).to.have.length(1);
    expect(slack.messages[0]?.channel).to.equal('U012ALICE');
    expect(receiver.requests).to.have.length(1);
    expect(JSON.parse(receiver.requests[0]?.body ?? '{}')).to.deep.include({ type: 'escalation' });

    const rows = await outbox(t);
    expect(rows.map((row) => row.status)).to.deep.equal(['SENT', 'SENT', 'SENT', 'SENT', 'SENT']);
    const sms = rows.find((row) => row.channel === 'sms');
    expect(twilio.messages[0]?.body).to.contain(`ACK ${sms?.reply_code}`);
    expect(twilio.messages[0]?.idempotencyKey).to.equal(sms?.idempotency_key);
    for (const row of rows) {
      const attempts = await attemptsOf(t, row.id);
      expect(attempts.map((a) => [a.attempt, a.outcome, a.channel])).to.deep.equal([[1, 'sent', row.channel]]);
    }
    // The e-mail's acknowledge link is signed for this person, incident and channel.
    const token = /actions\?token=([A-Za-z0-9_.-]+)/.exec(smtp.received[0]?.parsed.text ?? '')?.[1] ?? '';
    const grant = verifyAction(token, { keys: actionKeysFrom([LINK_SECRET]), now: t.clock.now() });
    expect(grant).to.deep.include({ incidentId: incident, userId: alice, channel: 'email' });
  });

  it('voice after 5 minutes if still unacknowledged: acknowledged at 3 minutes, the call is skipped with the reason', async () => {
    const alice = await createUser(t.pool, 'Alice');
    const sms = await addMethod(t, alice, 'sms', PHONE, 2);
    const voice = await addMethod(t, alice, 'voice', PHONE, 3);
    await addRule(t, alice, sms, 0);
    await addRule(t, alice, voice, 5 * MIN);
    const incident = await openIncident(t, await serviceWith(t, [{ delay: '1m', users: [alice] }]));
    t.clock.advance(MIN);
    await worker.tick();
    const notifier = notifierFor(t, channels);
    expect(await notifier.runOnce()).to.deep.include({ claimed: 1, sent: 1 });
    t.clock.advance(3 * MIN);
    expect((await notifier.runOnce()).claimed).to.equal(0); // the call is not due yet
    await t.api.post(`/incidents/${incident}/acknowledge`, {});
    t.clock.advance(2 * MIN);
    const pass = await notifier.runOnce();
    // The call skipped; the acknowledged notice (on the SMS that reached her) sent.
    expect(pass).to.deep.include({ skipped: 1, sent: 1 });
    expect(twilio.calls).to.have.length(0);
    const [call] = await outbox(t, `channel = 'voice'`);
    expect(call).to.deep.include({ status: 'SKIPPED', reason: 'incident acknowledged', attempts: 0 });
    // The acknowledged notice went out on the SMS that reached her.
    expect(twilio.messages.map((m) => m.body)).to.have.length(2);
    expect(twilio.messages[1]?.body).to.match(/^ACKNOWLEDGED/);
  });

  it('and if still unacknowledged, the call is placed 5 minutes later', async () => {
    const alice = await createUser(t.pool, 'Alice');
    const voice = await addMethod(t, alice, 'voice', PHONE, 3);
    await addRule(t, alice, voice, 5 * MIN);
    await openIncident(
      t,
      await serviceWith(t, [
        { delay: '1m', users: [alice] },
        { delay: '1h', users: [alice] },
      ]),
    );
    t.clock.advance(MIN);
    await worker.tick();
    const notifier = notifierFor(t, channels);
    t.clock.advance(5 * MIN);
    expect(await notifier.runOnce()).to.deep.include({ sent: 1 });
    expect(twilio.calls).to.have.length(1);
    expect(twilio.calls[0]?.twiml).to.contain('<Gather');
  });
});

describe('the notifier: retries, fallbacks, fencing, throttles', () => {
  let t: TestContext;
  let worker: Worker;
  let email: ScriptedChannel<'email'>;
  let sms: ScriptedChannel<'sms'>;
  let inApp: ScriptedChannel<'in_app'>;
  let channels: ChannelSet;
  let alice: string;
  beforeEach(async () => {
    t = await createTestContext();
    worker = workerFor(t);
    email = scriptedChannel('email');
    sms = scriptedChannel('sms');
    inApp = scriptedChannel('in_app');
    channels = { email, sms, in_app: inApp };
    alice = await createUser(t.pool, 'Alice');
  });
  afterEach(() => t.close());

  /** Alice pages by e-mail only (a rule), then SMS as a fallback, in-app last. */
  async function emailFirst(
    levels = [
      { delay: '1m', users: [alice] },
      { delay: '30m', users: [] as string[] },
    ],
  ) {
    const methods = await methodsOf(t, alice);
    await t.pool.query(`UPDATE contact_methods SET position = 9 WHERE id = $1`, [methods.in_app]);
    await addMethod(t, alice, 'sms', PHONE, 2);
    await addRule(t, alice, methods.email as string, 0);
    const incident = await openIncident(
      t,
      await serviceWith(
        t,
        levels.map((l) => (l.users.length ? l : { ...l, users: [alice] })),
      ),
    );
    t.clock.advance(MIN);
    await worker.tick();
    return incident;
  }

  it('a transient failure is retried with backoff from 2 s (jittered), then sent: two attempts recorded', async () => {
    await emailFirst();
    email.script({ status: 'transient', error: 'HTTP 500' });
    const notifier = notifierFor(t, channels);
    expect(await notifier.runOnce()).to.deep.include({ claimed: 1, retried: 1 });
    const [row] = await outbox(t);
    // random() = 0.5: half of the 2 s ceiling.
    expect(row).to.deep.include({ status: 'PENDING', attempts: 1, reason: 'HTTP 500' });
    expect(row?.next_attempt_at.getTime()).to.equal(t.clock.now().getTime() + 1_000);
    expect((await notifier.runOnce()).claimed).to.equal(0);
    t.clock.advance(1_000);
    expect(await notifier.runOnce()).to.deep.include({ sent: 1 });
    expect(email.sent).to.have.length(2);
    expect(email.sent[0]?.key).to.equal(email.sent[1]?.key);
    expect((await attemptsOf(t, String(row?.id))).map((a) => a.outcome)).to.deep.equal(['transient', 'sent']);
  });

  it("Retry-After is honoured, and the backoff's ceiling doubles per attempt", async () => {
    await emailFirst();
    email.script({ status: 'transient', error: 'slow down', retryAfterMs: 30_000 }, { status: 'transient', error: 'again' });
    const notifier = notifierFor(t, channels);
    await notifier.runOnce();
    let [row] = await outbox(t);
    expect(row?.next_attempt_at.getTime()).to.equal(t.clock.now().getTime() + 30_000);
    t.clock.advance(30_000);
    await notifier.runOnce();
    [row] = await outbox(t);
    expect(row?.next_attempt_at.getTime()).to.equal(t.clock.now().getTime() + 2_000); // 0.5 x 4 s
  });

  it('five transient failures: FAILED, the next method by position gets a row; every method failed: notification_failed; the next level runs on time', async () => {
    const incident = await emailFirst([
      { delay: '1m', users: [alice] },
      { delay: '10m', users: [alice] },
    ]);
    const outage = { status: 'transient' as const, error: 'HTTP 503' };
    email.script(outage, outage, outage, outage, outage);
    sms.script({ status: 'permanent', error: 'HTTP 400: twilio 21211: invalid number' });
    inApp.script({ status: 'permanent', error: 'refused' });
    const notifier = notifierFor(t, channels);
    for (let i = 0; i < 5; i += 1) {
      await notifier.runOnce();
      t.clock.advance(5 * 60_000);
    }
    const [first] = await outbox(t, `channel = 'email'`);
    expect(first).to.deep.include({ status: 'FAILED', attempts: 5 });
    expect(first?.reason).to.contain('after 5 attempts');
    const [fallback] = await outbox(t, `channel = 'sms'`);
    expect(fallback?.idempotency_key).to.equal(`${first?.idempotency_key}:fallback:${fallback?.contact_method_id}`);
    await notifier.drain();
    const chain = await outbox(t, `level = 1`);
    expect(chain.map((row) => [row.channel, row.status])).to.deep.equal([
      ['email', 'FAILED'],
      ['sms', 'FAILED'],
      ['in_app', 'FAILED'],
    ]);
    const { rows: events } = await t.pool.query<{ details: { user_id: string; level: number; failed: { channel: string }[] } }>(
      `SELECT kind, from_state, to_state, details FROM incident_events WHERE incident_id = $1 AND kind = 'notification_failed'`,
      [incident],
    );
    expect(events).to.have.length(1);
    expect(events[0]?.details).to.deep.include({ user_id: alice, level: 1 });
    expect(events[0]?.details.failed.map((f) => f.channel)).to.deep.equal(['email', 'sms', 'in_app']);
    // Level 2 is due 10 minutes after level 1 executed: the failures did not hold it back.
    const { rows: level2 } = await t.pool.query<{ status: string; scheduled_at: Date }>(
      `SELECT status, scheduled_at FROM escalations WHERE incident_id = $1 AND escalation_level = 2`,
      [incident],
    );
    expect(level2[0]?.status).to.equal('PENDING');
    t.clock.set(level2[0]?.scheduled_at ?? new Date(0));
    expect((await worker.tick()).executed).to.equal(1);
  });

  it('a permanent failure falls back at once; a method that succeeds ends the chain (no event)', async () => {
    const incident = await emailFirst();
    email.script({ status: 'permanent', error: '550 no such mailbox' });
    await notifierFor(t, channels).drain();
    expect((await outbox(t)).map((row) => [row.channel, row.status])).to.deep.equal([
      ['email', 'FAILED'],
      ['sms', 'SENT'],
    ]);
    const { rows } = await t.pool.query(`SELECT 1 FROM incident_events WHERE incident_id = $1 AND kind = 'notification_failed'`, [incident]);
    expect(rows).to.have.length(0);
  });

  it('a channel that is not configured fails as permanent and the next method is tried', async () => {
    await emailFirst();
    await notifierFor(t, { sms, in_app: inApp }).drain();
    const rows = await outbox(t);
    expect(rows.map((row) => [row.channel, row.status, row.reason])).to.deep.equal([
      ['email', 'FAILED', 'email: not configured'],
      ['sms', 'SENT', null],
    ]);
  });

  it('claim fencing: a notifier stalled past its lease records nothing; the one that took the row over does', async () => {
    await emailFirst();
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reached!: () => void;
    const atRecord = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const slow = notifierFor(t, channels, { hooks: { beforeRecord: () => (reached(), stalled) } });
    const slowPass = slow.runOnce();
    await atRecord;
    t.clock.advance(61_000); // past the 60 s lease
    const other = await notifierFor(t, channels).runOnce();
    expect(other).to.deep.include({ claimed: 1, sent: 1 });
    release();
    expect(await slowPass).to.deep.include({ sent: 0, lost: 1 });
    const [row] = await outbox(t);
    expect(row).to.deep.include({ status: 'SENT', claim: 2, attempts: 2 });
    const attempts = await attemptsOf(t, String(row?.id));
    expect(attempts.map((a) => [a.attempt, a.outcome])).to.deep.equal([[2, 'sent']]);
    // Both sent (the provider's idempotency key dedups where honoured): the same key.
    expect(email.sent.map((s) => s.key)).to.deep.equal([row?.idempotency_key, row?.idempotency_key]);
  });

  it('one escalation notification per method per incident per window: level 2 a minute later on the same method is throttled', async () => {
    await t.pool.query(`UPDATE contact_methods SET disabled_at = now() WHERE user_id = $1 AND kind = 'in_app'`, [alice]);
    await openIncident(
      t,
      await serviceWith(t, [
        { delay: '1m', users: [alice] },
        { delay: '30s', users: [alice] },
      ]),
    );
    const notifier = notifierFor(t, channels);
    t.clock.advance(MIN);
    await worker.tick();
    expect(await notifier.runOnce()).to.deep.include({ sent: 1 });
    t.clock.advance(30_000);
    await worker.tick();
    expect(await notifier.runOnce()).to.deep.include({ skipped: 1, sent: 0 });
    const rows = await outbox(t);
    expect(rows.map((row) => [row.level, row.status, row.reason])).to.deep.equal([
      [1, 'SENT', null],
      [2, 'SKIPPED', 'throttled'],
    ]);
  });

  it('a level 2 claimed while level 1 is still being sent on the same method counts the send in flight: throttled', async () => {
    await t.pool.query(`UPDATE contact_methods SET disabled_at = now() WHERE user_id = $1 AND kind = 'in_app'`, [alice]);
    await openIncident(
      t,
      await serviceWith(t, [
        { delay: '1m', users: [alice] },
        { delay: '30s', users: [alice] },
      ]),
    );
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let sending!: () => void;
    const started = new Promise<void>((resolve) => {
      sending = resolve;
    });
    const slowEmail: ScriptedChannel<'email'> = {
      ...email,
      send: async (delivery) => {
        email.sent.push({ destination: delivery.destination, key: delivery.idempotencyKey, message: delivery.message });
        sending();
        await released;
        return { status: 'sent', providerMessageId: null };
      },
    };
    const notifier = notifierFor(t, { ...channels, email: slowEmail });
    t.clock.advance(MIN);
    await worker.tick();
    const first = notifier.runOnce();
    await started;
    t.clock.advance(30_000);
    await worker.tick();
    // Nothing is SENT yet in the database: only the send in flight can throttle level 2.
    expect(await notifier.runOnce()).to.deep.include({ claimed: 1, skipped: 1, sent: 0 });
    release();
    expect(await first).to.deep.include({ sent: 1 });
    expect(email.sent).to.have.length(1);
    expect((await outbox(t)).map((row) => [row.level, row.status, row.reason])).to.deep.equal([
      [1, 'SENT', null],
      [2, 'SKIPPED', 'throttled'],
    ]);
  });

  it('per destination, beyond 10 a minute: folded into one digest sent when the minute ends ("and N more")', async () => {
    await t.pool.query(`UPDATE contact_methods SET disabled_at = now() WHERE user_id = $1 AND kind = 'in_app'`, [alice]);
    const service = await serviceWith(t, [{ delay: '1m', users: [alice] }]);
    for (let i = 0; i < 25; i += 1) await openIncident(t, service, `incident ${i}`);
    t.clock.set('2026-03-01T09:01:10.000Z');
    await worker.tick();
    const notifier = notifierFor(t, channels);
    expect(await notifier.runOnce()).to.deep.include({ claimed: 25, sent: 10, folded: 15 });
    const digests = await outbox(t, `type = 'digest'`);
    expect(digests).to.have.length(1);
    expect(digests[0]?.due_at.toISOString()).to.equal('2026-03-01T09:02:00.000Z');
    expect((await outbox(t, `status = 'FOLDED'`)).every((row) => row.digest_id === digests[0]?.id)).to.equal(true);
    t.clock.set('2026-03-01T09:02:00.000Z');
    const digestPass = await notifier.runOnce();
    expect(digestPass, JSON.stringify(t.logs.filter((l) => l.level === 'error'))).to.deep.include({ sent: 1 });
    expect(email.sent).to.have.length(11);
    const text = (email.sent[10]?.message as { text: string }).text;
    expect(text).to.match(/10 more/);
  });
});
