/**
 * Twilio's callbacks (issue 11): an SMS reply `ACK 4821` from the number paged, a key
 * press during a page by phone, and delivery receipts; each signed by the provider
 * (X-Twilio-Signature over PUBLIC_URL + path + sorted parameters), refused with 403
 * otherwise. The requests come from the Twilio stand-in, which signs them independently.
 */
import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import type { PlacedCall, SentSms, TwilioStandIn } from '../support/standins/twilio.ts';
import { startTwilioStandIn } from '../support/standins/twilio.ts';
import { twilioUrls } from '../../src/notify/links.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createUser } from '../support/factories.ts';
import { incidentIn } from '../support/fixtures.ts';
import {
  CURRENT_SECRET,
  type InboundServer,
  addContactMethod,
  addNotification,
  eventsOf,
  startInbound,
  stateOf,
  tokenlessAuditRows,
} from '../support/inbound.ts';

const ALICE_PHONE = '+15550001111';
const BOB_PHONE = '+15550002222';
const OUR_NUMBER = '+15550009999';

describe('Twilio callbacks: SMS replies, key presses, delivery receipts', () => {
  let t: TestContext;
  let twilio: TwilioStandIn;
  let inbound: InboundServer;
  let alice: string;
  let aliceSms: string;
  let aliceVoice: string;

  before(async () => {
    t = await createTestContext();
    twilio = await startTwilioStandIn();
    inbound = await startInbound(t, () => ({
      linkKeys: [CURRENT_SECRET],
      twilio: { baseUrl: twilio.baseUrl, accountSid: twilio.accountSid, authToken: twilio.authToken, fromNumber: OUR_NUMBER },
    }));
    alice = await createUser(t.pool, 'Alice');
    aliceSms = await addContactMethod(t, alice, 'sms', ALICE_PHONE);
    aliceVoice = await addContactMethod(t, alice, 'voice', ALICE_PHONE);
  });
  after(async () => {
    await inbound.close();
    await twilio.close();
    await t.close();
  });

  const smsUrl = () => `${inbound.url}/integrations/twilio/sms`;
  const smsPage = async (code: string) => {
    const incident = await incidentIn(t.api, 'ESCALATING', `disk full ${code}`);
    const notification = await addNotification(t, {
      incidentId: incident,
      userId: alice,
      contactMethodId: aliceSms,
      channel: 'sms',
      destination: ALICE_PHONE,
      replyCode: code,
    });
    return { incident, notification };
  };
  /** The one <Message> of a TwiML answer. */
  const messageOf = async (res: Response) => {
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/xml/);
    const text = await res.text();
    const match = /^<\?xml version="1\.0" encoding="UTF-8"\?><Response><Message>(.*)<\/Message><\/Response>$/.exec(text);
    expect(match, text).to.not.equal(null);
    return match?.[1] ?? '';
  };

  it('acknowledges from an SMS reply `ACK <code>` sent from the number paged, as that person', async () => {
    const { incident, notification } = await smsPage('4821');
    const reply = await messageOf(await twilio.sendInboundSms(smsUrl(), { from: ALICE_PHONE, to: OUR_NUMBER, body: '  ack   4821 ' }));
    expect(reply).to.equal('klaxon: acknowledged &quot;disk full 4821&quot; as Alice. Paging has stopped.');
    expect(await stateOf(t, incident)).to.equal('ACKNOWLEDGED');
    const [event] = await eventsOf(t, incident, 'acknowledged');
    expect(event?.actor).to.equal('Alice');
    expect(event?.details.via).to.deep.equal({ channel: 'sms', user_id: alice, notification_id: notification });
    expect((await tokenlessAuditRows(t)).at(-1)).to.deep.include({
      route: '/integrations/twilio/sms',
      actor: `user ${alice} via sms (notification ${notification}): Alice`,
    });
    // The same reply again (Twilio retries, people resend): nothing changes, and it says so.
    const again = await messageOf(await twilio.sendInboundSms(smsUrl(), { from: ALICE_PHONE, to: OUR_NUMBER, body: 'ACK 4821' }));
    expect(again).to.match(/^klaxon: &quot;disk full 4821&quot;: Already acknowledged by Alice at /);
    // RESOLVE with the same code resolves.
    expect(await messageOf(await twilio.sendInboundSms(smsUrl(), { from: ALICE_PHONE, to: OUR_NUMBER, body: 'RESOLVE 4821' }))).to.include('resolved');
    expect(await stateOf(t, incident)).to.equal('RESOLVED');
  });

  it('answers a helpful TwiML reply, and changes nothing, for a code sent from another number, an unknown code, or no command', async () => {
    const { incident } = await smsPage('5930');
    const fromBob = await messageOf(await twilio.sendInboundSms(smsUrl(), { from: BOB_PHONE, to: OUR_NUMBER, body: 'ACK 5930' }));
    expect(fromBob).to.equal('klaxon: no page with code 5930 was sent to this number. Check the code in the page you got.');
    const unknown = await messageOf(await twilio.sendInboundSms(smsUrl(), { from: ALICE_PHONE, to: OUR_NUMBER, body: 'ACK 1111' }));
    expect(unknown).to.include('no page with code 1111');
    const chatter = await messageOf(await twilio.sendInboundSms(smsUrl(), { from: ALICE_PHONE, to: OUR_NUMBER, body: 'on my way' }));
    expect(chatter).to.include('reply ACK &lt;code&gt; to acknowledge or RESOLVE &lt;code&gt; to resolve');
    expect(await stateOf(t, incident)).to.equal('ESCALATING');
  });

  it('refuses with 403 a request signed with another token, or for another URL, or unsigned', async () => {
    const { incident } = await smsPage('6044');
    const params = { From: ALICE_PHONE, To: OUR_NUMBER, Body: 'ACK 6044', MessageSid: 'SM1' };
    const answers = [
      await twilio.sendInboundSms(smsUrl(), { from: ALICE_PHONE, to: OUR_NUMBER, body: 'ACK 6044' }, { signWith: 'another-auth-token' }),
      // Signed for the status URL, sent to the SMS one.
      await fetch(smsUrl(), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': signatureFor(`${inbound.url}/integrations/twilio/status`, params),
        },
        body: new URLSearchParams(params).toString(),
      }),
      await fetch(smsUrl(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() }),
    ];
    for (const res of answers) {
      expect(res.status).to.equal(403);
      expect(((await res.json()) as { detail: string }).detail).to.equal('the request is not signed as expected');
    }
    expect(await stateOf(t, incident)).to.equal('ESCALATING');
  });

  /** Twilio's scheme, written here once more: base64 HMAC-SHA1 of the URL and the sorted name+value pairs. */
  function signatureFor(url: string, params: Record<string, string>): string {
    const data = Object.keys(params)
      .sort()
      .reduce((text, name) => text + name + params[name], url);
    return createHmac('sha1', twilio.authToken).update(data).digest('base64');
  }

  describe('a page by phone', () => {
    const call = (sid: string): PlacedCall => ({ sid, to: ALICE_PHONE, from: OUR_NUMBER, twiml: null, url: null, statusCallback: null, idempotencyKey: null });
    const voicePage = async (sid: string) => {
      const incident = await incidentIn(t.api, 'ESCALATING', 'db primary down');
      const notification = await addNotification(t, {
        incidentId: incident,
        userId: alice,
        contactMethodId: aliceVoice,
        channel: 'voice',
        destination: ALICE_PHONE,
        providerMessageId: sid,
      });
      return { incident, notification };
    };

    it('answers the call with the page as it is now and a menu whose key presses come back to the gather URL', async () => {
      const { incident, notification } = await voicePage('CA0000000000000000000000000000aa01');
      const urls = twilioUrls(inbound.settings);
      const res = await twilio.postSigned(urls.twiml(notification), {
        CallSid: 'CA0000000000000000000000000000aa01',
        CallStatus: 'in-progress',
        From: OUR_NUMBER,
        To: ALICE_PHONE,
      });
      expect(res.status).to.equal(200);
      const twiml = await res.text();
      expect(twiml).to.include(`<Gather numDigits="1" action="${urls.gather(notification)}" method="POST"`);
      expect(twiml).to.include('db primary down').and.include('Press 1 to acknowledge. Press 2 to resolve.');
      // Once acknowledged, a call answered later says so instead of paging.
      await t.api.post(`/incidents/${incident}/acknowledge`, { actor: 'Carol' });
      const later = await (
        await twilio.postSigned(urls.twiml(notification), { CallSid: 'CA0000000000000000000000000000aa01', CallStatus: 'in-progress' })
      ).text();
      expect(later).to.not.include('<Gather');
      expect(later).to.include('Already acknowledged by Carol.');
    });

    it('acknowledges on 1 and resolves on 2, as the person called; repeats the menu on another key', async () => {
      const { incident, notification } = await voicePage('CA0000000000000000000000000000aa02');
      const gather = twilioUrls(inbound.settings).gather(notification);
      const placed = call('CA0000000000000000000000000000aa02');
      const other = await (await twilio.sendKeyPress(gather, placed, '7')).text();
      expect(other).to.include('Sorry, that key does nothing.').and.include(`action="${gather}"`);
      expect(await stateOf(t, incident)).to.equal('ESCALATING');
      expect(await (await twilio.sendKeyPress(gather, placed, '1')).text()).to.include('<Say>Acknowledged. Thank you.</Say><Hangup/>');
      expect(await stateOf(t, incident)).to.equal('ACKNOWLEDGED');
      const [event] = await eventsOf(t, incident, 'acknowledged');
      expect(event?.actor).to.equal('Alice');
      expect(event?.details.via).to.deep.equal({ channel: 'voice', user_id: alice, notification_id: notification });
      expect(await (await twilio.sendKeyPress(gather, placed, '1')).text()).to.include('Already acknowledged by Alice.');
      expect(await (await twilio.sendKeyPress(gather, placed, '2')).text()).to.include('<Say>Resolved. Thank you.</Say>');
      expect(await stateOf(t, incident)).to.equal('RESOLVED');
    });

    it('says anything but a page as the notifier words it, without a menu: a verification code', async () => {
      const { rows } = await t.pool.query<{ id: string }>(
        `INSERT INTO notifications (idempotency_key, type, user_id, contact_method_id, channel, destination, status, due_at, next_attempt_at, payload, sent_at, finished_at)
         VALUES ('test:verify-call', 'verification', $1, $2, 'voice', $3, 'SENT', now(), now(), $4, now(), now()) RETURNING id`,
        [alice, aliceVoice, ALICE_PHONE, JSON.stringify({ code: '482913', expires_at: new Date(t.clock.now().getTime() + 10 * 60_000).toISOString() })],
      );
      const res = await twilio.postSigned(twilioUrls(inbound.settings).twiml(rows[0]?.id ?? ''), {
        CallSid: 'CA0000000000000000000000000000bb01',
        CallStatus: 'in-progress',
      });
      const twiml = await res.text();
      expect(twiml).to.include('Your klaxon verification code is 4, 8, 2, 9, 1, 3.').and.not.include('<Gather');
      // Its key presses act on nothing.
      const gather = twilioUrls(inbound.settings).gather(rows[0]?.id ?? '');
      expect(await (await twilio.sendKeyPress(gather, call('CA0000000000000000000000000000bb01'), '1')).text()).to.include(
        'This call cannot act on any incident.',
      );
    });

    it('refuses a key press from another call than the one placed for the notification, and a bad signature', async () => {
      const { incident, notification } = await voicePage('CA0000000000000000000000000000aa03');
      const gather = twilioUrls(inbound.settings).gather(notification);
      expect(await (await twilio.sendKeyPress(gather, call('CA0000000000000000000000000000ffff'), '1')).text()).to.include(
        'This call cannot act on any incident.',
      );
      expect((await twilio.sendKeyPress(gather, call('CA0000000000000000000000000000aa03'), '1', { signWith: 'another-auth-token' })).status).to.equal(403);
      expect(await stateOf(t, incident)).to.equal('ESCALATING');
    });
  });

  describe('delivery receipts', () => {
    const sms = (sid: string): SentSms => ({ sid, to: ALICE_PHONE, from: OUR_NUMBER, body: 'page', statusCallback: null, idempotencyKey: null });
    const receiptsOf = async (sid: string) =>
      (
        await t.pool.query<{ notification_id: string | null; status: string; details: Record<string, unknown> }>(
          'SELECT notification_id, status, details FROM notification_receipts WHERE provider_message_id = $1 ORDER BY id',
          [sid],
        )
      ).rows;
    const deliveredAt = async (id: string) =>
      (await t.pool.query<{ delivered_at: Date | null }>('SELECT delivered_at FROM notifications WHERE id = $1', [id])).rows[0]?.delivered_at ?? null;

    it('records each status callback as a receipt, and the first delivery on the notification', async () => {
      const { notification } = await smsPage('7001');
      const sid = 'SM00000000000000000000000000007001';
      await t.pool.query('UPDATE notifications SET provider_message_id = $2 WHERE id = $1', [notification, sid]);
      const status = twilioUrls(inbound.settings).status(notification);
      expect((await twilio.sendStatusCallback(status, sms(sid), 'sent')).status).to.equal(204);
      expect(await deliveredAt(notification)).to.equal(null);
      expect((await twilio.sendStatusCallback(status, sms(sid), 'delivered')).status).to.equal(204);
      const delivered = await deliveredAt(notification);
      expect(delivered?.toISOString()).to.equal(t.clock.now().toISOString());
      // Found by the SID when the URL names no notification; a second "delivered" keeps the first time.
      t.clock.advance(1_000);
      expect((await twilio.sendStatusCallback(`${inbound.url}/integrations/twilio/status`, sms(sid), 'delivered')).status).to.equal(204);
      expect((await deliveredAt(notification))?.toISOString()).to.equal(delivered?.toISOString());
      const receipts = await receiptsOf(sid);
      expect(receipts.map((receipt) => [receipt.notification_id, receipt.status])).to.deep.equal([
        [notification, 'sent'],
        [notification, 'delivered'],
        [notification, 'delivered'],
      ]);
      expect(receipts[1]?.details).to.deep.equal({ kind: 'sms', final: true, reached: true, error_code: null });
    });

    it('keeps a receipt nothing matches, records a failure without delivering, and refuses a bad signature', async () => {
      const { notification } = await smsPage('7002');
      const status = twilioUrls(inbound.settings).status(notification);
      expect((await twilio.sendStatusCallback(status, sms('SM0000000000000000000000000000ff02'), 'undelivered', { errorCode: '30003' })).status).to.equal(204);
      expect(await deliveredAt(notification)).to.equal(null);
      expect((await receiptsOf('SM0000000000000000000000000000ff02'))[0]?.details).to.deep.include({ reached: false, error_code: '30003' });
      await twilio.sendStatusCallback(`${inbound.url}/integrations/twilio/status`, sms('SM0000000000000000000000000000dead'), 'delivered');
      expect((await receiptsOf('SM0000000000000000000000000000dead'))[0]?.notification_id).to.equal(null);
      expect((await twilio.sendStatusCallback(status, sms('SM0000000000000000000000000000ff03'), 'delivered', { signWith: 'forged' })).status).to.equal(403);
      expect(await receiptsOf('SM0000000000000000000000000000ff03')).to.deep.equal([]);
    });
  });
});
