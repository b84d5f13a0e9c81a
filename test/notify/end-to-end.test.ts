/**
 * Issue 11 end to end: one person with a method on every channel, a level (delay 0s)
 * paging them on every kind; the worker executes it, the notifier sends, and each
 * stand-in (a real SMTP server, Twilio, Slack, a Teams Workflows hook, a webhook
 * receiver; in-app is the outbox row) receives exactly one message. The e-mail's
 * acknowledge link is followed over HTTP: GET shows a page and changes nothing, POST
 * acknowledges as the person; the stop-paging notices then reach every channel. Then a
 * storm: 100 incidents within the throttle window, counted per method and destination.
 *
 * What each stand-in received is printed, one line per channel (issue 11 asks to see it).
 */
import { expect } from 'chai';
import { CHANNEL_KINDS } from '../../src/domain/notifications.ts';
import type { ChannelSet } from '../../src/notify/channel-set.ts';
import { createEmailChannel } from '../../src/notify/channels/email.ts';
import { createInAppChannel } from '../../src/notify/channels/in-app.ts';
import { createSlackChannel } from '../../src/notify/channels/slack.ts';
import { createTeamsChannel } from '../../src/notify/channels/teams.ts';
import { createTwilioSmsChannel, createTwilioVoiceChannel } from '../../src/notify/channels/twilio.ts';
import { createWebhookChannel } from '../../src/notify/channels/webhook.ts';
import type { Notifier } from '../../src/notify/notifier.ts';
import type { Worker } from '../../src/worker/worker.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createUser } from '../support/factories.ts';
import { type InboundServer, startInbound } from '../support/inbound.ts';
import { type RecordingServer, startRecordingServer } from '../support/standins/recording-http.ts';
import { type SlackStandIn, startSlackStandIn } from '../support/standins/slack.ts';
import { type SmtpStandIn, startSmtpStandIn } from '../support/standins/smtp.ts';
import { type TwilioStandIn, startTwilioStandIn } from '../support/standins/twilio.ts';
import { workerFor } from '../support/worker.ts';
import { LINK_SECRET, MIN, addMethod, notifierFor, openIncident, outbox, serviceWith } from './outbox-support.ts';

const PHONE = '+4915112345678';
const HTML = { accept: 'text/html' };

describe('notifications end to end: every channel, one person, one page', () => {
  let t: TestContext;
  let worker: Worker;
  let inbound: InboundServer;
  let smtp: SmtpStandIn;
  let twilio: TwilioStandIn;
  let slack: SlackStandIn;
  let teams: RecordingServer;
  let receiver: RecordingServer;
  let channels: ChannelSet;
  let notifier: Notifier;
  let alice: string;
  let aliceEmail: string;

  beforeEach(async () => {
    t = await createTestContext();
    worker = workerFor(t);
    inbound = await startInbound(t, () => ({ linkKeys: [LINK_SECRET] }));
    [smtp, twilio, slack, teams, receiver] = await Promise.all([
      startSmtpStandIn(),
      startTwilioStandIn(),
      startSlackStandIn(),
      startRecordingServer({ name: 'Teams webhook' }),
      startRecordingServer({ name: 'webhook receiver' }),
    ]);
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
      voice: createTwilioVoiceChannel({ ...twilioOptions, gatherActionUrl: (id) => `${inbound.url}/integrations/twilio/voice/${id}/gather` }),
      slack: createSlackChannel({ botToken: slack.botToken, clock: t.clock, apiBaseUrl: slack.apiBaseUrl, timeoutMs: 2_000 }),
      teams: createTeamsChannel({ clock: t.clock, timeoutMs: 2_000 }),
      webhook: createWebhookChannel({ secrets: ['webhook-secret'], clock: t.clock, timeoutMs: 2_000 }),
      in_app: createInAppChannel(),
    };
    // Links point at the app itself, so the test can follow them.
    notifier = notifierFor(t, channels, { links: { publicUrl: inbound.url, linkKeys: [LINK_SECRET], linkTtlMs: 24 * 60 * MIN } });
    alice = await createUser(t.pool, 'Alice');
    const { rows } = await t.pool.query<{ email: string }>(`SELECT email FROM users WHERE id = $1`, [alice]);
    aliceEmail = String(rows[0]?.email);
    // email and in_app exist already (every user gets them); sms and voice verified.
    await addMethod(t, alice, 'sms', PHONE, 2);
    await addMethod(t, alice, 'voice', PHONE, 3);
    await addMethod(t, alice, 'slack', 'U012ALICE', 4);
    await addMethod(t, alice, 'teams', `${teams.url}/workflows/alice`, 5);
    await addMethod(t, alice, 'webhook', `${receiver.url}/pager`, 6);
  });
  afterEach(async () => {
    await channels.email?.close?.();
    await Promise.all([smtp.close(), twilio.close(), slack.close(), teams.close(), receiver.close(), inbound.close()]);
    await t.close();
  });

  /** Execute every due escalation (the worker takes at most a batch per tick). */
  async function executeDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const { executed } = await worker.tick();
      if (executed === 0) return total;
      total += executed;
    }
  }

  /** One line per channel: what its stand-in received since `from`. */
  async function report(stage: string, from: Record<string, number>, incidentId: string, type: string): Promise<Record<string, number>> {
    const mails = smtp.received.slice(from.email);
    const sms = twilio.messages.slice(from.sms);
    const calls = twilio.calls.slice(from.voice);
    const posts = slack.messages.slice(from.slack);
    const cards = teams.requests.slice(from.teams);
    const hooks = receiver.requests.slice(from.webhook);
    const inApp = await outbox(t, `channel = 'in_app' AND incident_id = $1 AND status = 'SENT' AND type = $2`, [incidentId, type]);
    const counts = {
      email: mails.length,
      sms: sms.length,
      voice: calls.length,
      slack: posts.length,
      teams: cards.length,
      webhook: hooks.length,
      in_app: inApp.length,
    };
    const card = (body: string | undefined) => JSON.stringify(JSON.parse(body ?? '{}')).slice(0, 60);
    console.log(`  e2e ${stage}:`);
    console.log(
      `  e2e   email: ${mails.length} message to ${mails.map((m) => m.to.join(',')).join(' ')}, subject "${mails.map((m) => m.parsed.subject).join('" "')}"`,
    );
    console.log(
      `  e2e   sms: ${sms.length} message to ${sms.map((m) => m.to).join(' ')}, "${sms.map((m) => m.body.replace(/\s+/g, ' ').slice(0, 70)).join('" "')}"`,
    );
    console.log(
      `  e2e   voice: ${calls.length} call to ${calls.map((c) => c.to).join(' ')}, twiml ${calls.map((c) => (c.twiml ?? c.url ?? '').length).join(' ')} chars`,
    );
    console.log(`  e2e   slack: ${posts.length} message to ${posts.map((m) => m.channel).join(' ')}, "${posts.map((m) => m.text.slice(0, 70)).join('" "')}"`);
    console.log(`  e2e   teams: ${cards.length} POST ${cards.map((r) => r.path).join(' ')}, ${cards.map((r) => card(r.body)).join(' ')}…`);
    console.log(`  e2e   webhook: ${hooks.length} POST ${hooks.map((r) => r.path).join(' ')}, ${hooks.map((r) => card(r.body)).join(' ')}…`);
    console.log(`  e2e   in_app: ${inApp.length} row SENT, type ${inApp.map((r) => r.type).join(' ')}`);
    return counts;
  }

  const marks = () => ({
    email: smtp.received.length,
    sms: twilio.messages.length,
    voice: twilio.calls.length,
    slack: slack.messages.length,
    teams: teams.requests.length,
    webhook: receiver.requests.length,
    in_app: 0,
  });

  it('a level pages on every channel once; the e-mail link acknowledges (GET shows, POST acts); every channel gets the notice', async () => {
    const service = await serviceWith(t, [{ delay: '0s', users: [alice], channels: [...CHANNEL_KINDS] }]);
    const incident = await openIncident(t, service, 'checkout 5xx above 5%');
    expect(await executeDue()).to.equal(1);

    const before = marks();
    const pass = await notifier.drain();
    expect(pass).to.deep.include({ sent: 7, failed: 0, retried: 0 });
    const paged = await report('page', before, incident, 'escalation');
    expect(paged).to.deep.equal({ email: 1, sms: 1, voice: 1, slack: 1, teams: 1, webhook: 1, in_app: 1 });
    expect(smtp.received[0]?.to).to.deep.equal([aliceEmail]);
    expect(smtp.received[0]?.parsed.subject).to.contain('checkout 5xx above 5%');
    expect(twilio.messages[0]).to.deep.include({ to: PHONE });
    expect(twilio.calls[0]).to.deep.include({ to: PHONE });
    expect(slack.messages[0]?.channel).to.equal('U012ALICE');
    expect(teams.requests[0]?.path).to.equal('/workflows/alice');
    expect(JSON.parse(receiver.requests[0]?.body ?? '{}')).to.deep.include({ type: 'escalation' });
    const rows = await outbox(t, `incident_id = $1`, [incident]);
    expect(rows.map((row) => [row.channel, row.status]).sort()).to.deep.equal([...CHANNEL_KINDS].sort().map((kind) => [kind, 'SENT']));

    // The e-mail's acknowledge link, followed as a person would: GET shows, changes nothing.
    const mail = smtp.received[0]?.parsed;
    const link = /https?:\/\/\S+\/actions\?token=[A-Za-z0-9_.-]+/.exec(mail?.text ?? '')?.[0] ?? '';
    expect(link.startsWith(`${inbound.url}/actions?token=`), mail?.text).to.equal(true);
    const path = link.slice(inbound.url.length);
    const shown = await inbound.api.raw('GET', path, { headers: HTML });
    expect(shown.status).to.equal(200);
    expect(shown.text).to.include('Alice, you are about to acknowledge this incident as yourself');
    expect((await t.api.get(`/incidents/${incident}`)).body.state).to.equal('ESCALATING');
    const acted = await inbound.api.raw('POST', path, { headers: { 'content-type': 'application/x-www-form-urlencoded', ...HTML }, body: '' });
    expect(acted.status, acted.text).to.equal(200);
    expect((await t.api.get(`/incidents/${incident}`)).body.state).to.equal('ACKNOWLEDGED');
    const { rows: events } = await t.pool.query<{ details: Record<string, unknown> }>(
      `SELECT details FROM incident_events WHERE incident_id = $1 AND kind = 'acknowledged'`,
      [incident],
    );
    expect(events).to.have.length(1);
    expect(JSON.stringify(events[0]?.details)).to.contain(alice).and.contain('email');

    // The stop-paging notices: one per channel she was paged on.
    const sinceAck = marks();
    const notices = await notifier.drain();
    expect(notices).to.deep.include({ sent: 7, failed: 0 });
    const noticed = await report('acknowledged notice', sinceAck, incident, 'acknowledged');
    expect(noticed).to.deep.equal({ email: 1, sms: 1, voice: 1, slack: 1, teams: 1, webhook: 1, in_app: 1 });
    expect(smtp.received[1]?.parsed.subject).to.match(/acknowledged/i);
    expect(twilio.messages[1]?.body).to.match(/^ACKNOWLEDGED/);
    expect(JSON.parse(receiver.requests[1]?.body ?? '{}')).to.deep.include({ type: 'acknowledged' });
    expect((await outbox(t, `type = 'acknowledged'`)).map((row) => row.status)).to.deep.equal(Array(7).fill('SENT'));
  });

  it('100 incidents within the throttle window: one page per method per incident, beyond 10 a minute folded into one digest per destination', async () => {
    // Two levels 30 s apart, both on every channel: level 2 falls in the window (throttled).
    const service = await serviceWith(t, [
      { delay: '0s', users: [alice], channels: [...CHANNEL_KINDS] },
      { delay: '30s', users: [alice], channels: [...CHANNEL_KINDS] },
    ]);
    for (let i = 0; i < 100; i += 1) await openIncident(t, service, `storm ${i}`);
    expect(await executeDue()).to.equal(100);
    await notifier.drain();
    t.clock.advance(30_000);
    expect(await executeDue()).to.equal(100);
    await notifier.drain();

    const leaving = CHANNEL_KINDS.filter((kind) => kind !== 'in_app');
    const byStatus = async (kind: string) => {
      const rows = await outbox(t, `channel = $1 AND type = 'escalation'`, [kind]);
      const count = (level: number, status: string) => rows.filter((row) => row.level === level && row.status === status).length;
      return { sent: count(1, 'SENT'), folded: count(1, 'FOLDED'), throttled: rows.filter((row) => row.level === 2 && row.reason === 'throttled').length };
    };
    for (const kind of leaving) {
      expect(await byStatus(kind), kind).to.deep.equal({ sent: 10, folded: 90, throttled: 100 });
    }
    expect(await byStatus('in_app')).to.deep.equal({ sent: 100, folded: 0, throttled: 100 });
    const digests = await outbox(t, `type = 'digest'`);
    expect(digests.map((row) => row.channel).sort()).to.deep.equal([...leaving].sort());

    // The minute ends: each digest goes out once, naming the 90 others.
    t.clock.advance(30_000);
    expect(await notifier.drain()).to.deep.include({ sent: leaving.length, failed: 0 });
    const received = {
      email: smtp.received.length,
      sms: twilio.messages.length,
      voice: twilio.calls.length,
      slack: slack.messages.length,
      teams: teams.requests.length,
      webhook: receiver.requests.length,
    };
    console.log(`  e2e storm of 100: per channel received ${JSON.stringify(received)}; in_app 100 rows; level 2: 100 throttled per method`);
    expect(received).to.deep.equal({ email: 11, sms: 11, voice: 11, slack: 11, teams: 11, webhook: 11 });
    // 90 incidents folded (each once, whatever the level): named 5, "and 85 more".
    expect(smtp.received[10]?.parsed.text)
      .to.match(/^90 incidents are paging you/)
      .and.match(/and 85 more incidents/);
  });
});
