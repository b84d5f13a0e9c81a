/**
 * SMS and voice against the Twilio-compatible stand-in (Messages.json, Calls.json, basic
 * auth, Idempotency-Key), the X-Twilio-Signature check on what the stand-in POSTs back
 * (receipts, an SMS reply, a key press), the TwiML, and the parsers of replies and receipts.
 */
import { expect } from 'chai';
import {
  createTwilioSmsChannel,
  createTwilioVoiceChannel,
  parseSmsReply,
  parseTwilioStatusCallback,
  parseVoiceDigits,
  twilioSignature,
  verifyTwilioSignature,
  voiceAnswerTwiml,
  voiceCallTwiml,
} from '../../src/notify/channels/twilio.ts';
import { render } from '../../src/notify/templates.ts';
import { type RecordingServer, formOf, startRecordingServer } from '../support/standins/recording-http.ts';
import { type TwilioStandIn, startTwilioStandIn, twilioError } from '../support/standins/twilio.ts';
import { HOSTILE_TITLE, abortAfter, clockAt, delivery, escalation, incident, never } from './fixtures.ts';

const PHONE = '+4915112345678';
const OURS = '+15005550006';

describe('Twilio SMS and voice channels', () => {
  let twilio: TwilioStandIn;
  const options = (stand: TwilioStandIn, overrides: { authToken?: string; timeoutMs?: number } = {}) => ({
    accountSid: stand.accountSid,
    authToken: overrides.authToken ?? stand.authToken,
    from: OURS,
    clock: clockAt(),
    baseUrl: stand.baseUrl,
    timeoutMs: overrides.timeoutMs ?? 1_000,
    statusCallbackUrl: (id: string) => `https://klaxon.example/hooks/twilio/status/${id}`,
  });
  const sms = render('sms', escalation());

  beforeEach(async () => {
    twilio = await startTwilioStandIn();
  });
  afterEach(() => twilio.close());

  it('sends an SMS through Messages.json with basic auth, the status callback and the Idempotency-Key, and returns the SID', async () => {
    const outcome = await createTwilioSmsChannel(options(twilio)).send(delivery(PHONE, sms), never());
    expect(twilio.messages).to.have.length(1);
    const [message] = twilio.messages;
    expect(outcome).to.deep.equal({ status: 'sent', providerMessageId: message?.sid });
    expect(message).to.deep.include({
      to: PHONE,
      from: OURS,
      body: sms.text,
      statusCallback: 'https://klaxon.example/hooks/twilio/status/n-1',
      idempotencyKey: 'esc-1:user-1:method-1:rule-1',
    });
    expect(twilio.server.requests[0]?.headers['content-type']).to.equal('application/x-www-form-urlencoded');
  });

  it('sends nothing twice for one key where the provider honours Idempotency-Key: the second attempt gets the first SID', async () => {
    const channel = createTwilioSmsChannel(options(twilio));
    const first = await channel.send(delivery(PHONE, sms), never());
    const again = await channel.send(delivery(PHONE, sms), never());
    expect(again).to.deep.equal(first);
    expect(twilio.messages).to.have.length(1);
    expect(twilio.server.requests).to.have.length(2);
    await channel.send(delivery(PHONE, sms, { idempotencyKey: 'another-key' }), never());
    expect(twilio.messages).to.have.length(2);
  });

  it('places a call with inline TwiML that says the incident and gathers one key towards the action URL', async () => {
    const voice = createTwilioVoiceChannel({ ...options(twilio), gatherActionUrl: (id) => `https://klaxon.example/hooks/twilio/gather/${id}?a=1&b=2` });
    const outcome = await voice.send(delivery(PHONE, render('voice', escalation())), never());
    const [call] = twilio.calls;
    expect(outcome).to.deep.equal({ status: 'sent', providerMessageId: call?.sid });
    expect(call?.url).to.equal(null);
    expect(call?.twiml).to.contain('<Gather numDigits="1" action="https://klaxon.example/hooks/twilio/gather/n-1?a=1&amp;b=2" method="POST"');
    expect(call?.twiml).to.contain('checkout 5xx above 5%');
    expect(call?.twiml).to.contain('Press 1 to acknowledge. Press 2 to resolve.');
    expect(call?.idempotencyKey).to.equal('esc-1:user-1:method-1:rule-1');
  });

  it('places a call that fetches its TwiML from our endpoint when twimlUrl is set', async () => {
    const voice = createTwilioVoiceChannel({
      ...options(twilio),
      gatherActionUrl: (id) => `https://klaxon.example/hooks/twilio/gather/${id}`,
      twimlUrl: (id) => `https://klaxon.example/hooks/twilio/twiml/${id}`,
    });
    await voice.send(delivery(PHONE, render('voice', escalation())), never());
    expect(twilio.calls[0]).to.deep.include({ twiml: null, url: 'https://klaxon.example/hooks/twilio/twiml/n-1' });
    expect(formOf(twilio.server.requests[0]!).get('Method')).to.equal('POST');
  });

  it('reads 429 and 5xx as transient (honouring Retry-After), bad credentials and an invalid number as permanent', async () => {
    const channel = createTwilioSmsChannel(options(twilio));
    twilio.script(twilioError(429, 20429, 'Too Many Requests', { 'retry-after': '30' }), twilioError(503, 20503, 'Service unavailable'));
    expect(await channel.send(delivery(PHONE, sms), never())).to.deep.equal({
      status: 'transient',
      error: 'HTTP 429: twilio 20429: Too Many Requests',
      retryAfterMs: 30_000,
    });
    expect(await channel.send(delivery(PHONE, sms), never())).to.deep.include({ status: 'transient' });
    expect(await createTwilioSmsChannel(options(twilio, { authToken: 'wrong' })).send(delivery(PHONE, sms), never())).to.deep.equal({
      status: 'permanent',
      error: 'HTTP 401: twilio 20003: Authenticate',
    });
    expect(await channel.send(delivery('0151 not a number', sms), never())).to.deep.include({ status: 'permanent' });
    expect(twilio.messages).to.have.length(0);
  });

  it('gives up on a provider that hangs, at its timeout or the signal: transient', async () => {
    twilio.script({ hang: true }, { hang: true });
    expect(await createTwilioSmsChannel(options(twilio, { timeoutMs: 100 })).send(delivery(PHONE, sms), never())).to.deep.equal({
      status: 'transient',
      error: 'timed out after 100 ms',
    });
    const aborted = await createTwilioSmsChannel(options(twilio)).send(delivery(PHONE, sms), abortAfter(50));
    expect(aborted.status).to.equal('transient');
  });
});

describe('what Twilio POSTs to us: signature, receipts, replies, key presses', () => {
  let twilio: TwilioStandIn;
  let endpoint: RecordingServer;
  before(async () => {
    twilio = await startTwilioStandIn();
    endpoint = await startRecordingServer({ name: 'Twilio webhook endpoint', handler: () => ({ status: 200, body: '<Response/>' }) });
  });
  after(async () => {
    await twilio.close();
    await endpoint.close();
  });
  const lastRequest = () => {
    const request = endpoint.requests.at(-1)!;
    return { url: `${endpoint.url}${request.path}`, params: formOf(request), signature: String(request.headers['x-twilio-signature']) };
  };

  it("matches Twilio's documented example", () => {
    const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
    const params = { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030', To: '+18005551212' };
    expect(twilioSignature('12345', url, params)).to.equal('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
    expect(verifyTwilioSignature('12345', url, new URLSearchParams(params), '0/KCTR6DLpKmkAf8muzZqo1nDgQ=')).to.deep.equal({ ok: true });
  });

  it('verifies a status callback the stand-in signed and reads it as a delivery receipt', async () => {
    const sms = { sid: 'SM00000000000000000000000000000abc', to: PHONE, from: OURS, body: 'x', statusCallback: null, idempotencyKey: null };
    await twilio.sendStatusCallback(`${endpoint.url}/hooks/twilio/status/n-1`, sms, 'undelivered', { errorCode: '30003' });
    const { url, params, signature } = lastRequest();
    expect(verifyTwilioSignature(twilio.authToken, url, params, signature)).to.deep.equal({ ok: true });
    expect(parseTwilioStatusCallback(params)).to.deep.equal({
      sid: sms.sid,
      kind: 'sms',
      status: 'undelivered',
      final: true,
      reached: false,
      errorCode: '30003',
    });

    await twilio.sendStatusCallback(`${endpoint.url}/hooks/twilio/status/n-1`, sms, 'delivered');
    expect(parseTwilioStatusCallback(lastRequest().params)).to.include({ status: 'delivered', final: true, reached: true, errorCode: null });
    await twilio.sendStatusCallback(`${endpoint.url}/hooks/twilio/status/n-1`, sms, 'sent');
    expect(parseTwilioStatusCallback(lastRequest().params)).to.include({ final: false, reached: false });
    expect(parseTwilioStatusCallback(new URLSearchParams({ Foo: 'bar' }))).to.equal(null);
  });

  it('verifies an inbound SMS reply and reads the action and code in it', async () => {
    await twilio.sendInboundSms(`${endpoint.url}/hooks/twilio/sms`, { from: PHONE, to: OURS, body: ' ack 4821 ' });
    const { url, params, signature } = lastRequest();
    expect(verifyTwilioSignature(twilio.authToken, url, params, signature)).to.deep.equal({ ok: true });
    expect(parseSmsReply(params.get('Body') ?? '')).to.deep.equal({ action: 'acknowledge', code: '4821' });
  });

  it('verifies a key press and reads 1 as acknowledge', async () => {
    const call = { sid: 'CA00000000000000000000000000000abc', to: PHONE, from: OURS, twiml: null, url: null, statusCallback: null, idempotencyKey: null };
    await twilio.sendKeyPress(`${endpoint.url}/hooks/twilio/gather/n-1?attempt=1`, call, '1');
    const { url, params, signature } = lastRequest();
    expect(verifyTwilioSignature(twilio.authToken, url, params, signature)).to.deep.equal({ ok: true });
    expect(parseVoiceDigits(params.get('Digits'))).to.equal('acknowledge');
  });

  it('refuses another token, a changed parameter, another URL, a missing header; accepts either token while one is rotated', async () => {
    await twilio.sendInboundSms(`${endpoint.url}/hooks/twilio/sms`, { from: PHONE, to: OURS, body: 'ACK 4821' }, { signWith: 'forged-token' });
    const forged = lastRequest();
    expect(verifyTwilioSignature(twilio.authToken, forged.url, forged.params, forged.signature)).to.deep.equal({ ok: false, reason: 'bad_signature' });

    await twilio.sendInboundSms(`${endpoint.url}/hooks/twilio/sms`, { from: PHONE, to: OURS, body: 'ACK 4821' });
    const { url, params, signature } = lastRequest();
    const tampered = new URLSearchParams(params);
    tampered.set('Body', 'RESOLVE 4821');
    expect(verifyTwilioSignature(twilio.authToken, url, tampered, signature)).to.deep.equal({ ok: false, reason: 'bad_signature' });
    expect(verifyTwilioSignature(twilio.authToken, url.replace('/sms', '/sms2'), params, signature)).to.deep.equal({ ok: false, reason: 'bad_signature' });
    expect(verifyTwilioSignature(twilio.authToken, url, params, undefined)).to.deep.equal({ ok: false, reason: 'missing' });
    expect(verifyTwilioSignature(['secondary-token', twilio.authToken], url, params, signature)).to.deep.equal({ ok: true });
  });
});

describe('SMS replies, key presses and TwiML', () => {
  const replies: [string, ReturnType<typeof parseSmsReply>][] = [
    ['ACK 4821', { action: 'acknowledge', code: '4821' }],
    ['ack 4821', { action: 'acknowledge', code: '4821' }],
    ['Ack4821', { action: 'acknowledge', code: '4821' }],
    ['  ACK   4821  ', { action: 'acknowledge', code: '4821' }],
    ['Acknowledge #4821.', { action: 'acknowledge', code: '4821' }],
    ['RESOLVE 4821', { action: 'resolve', code: '4821' }],
    ['resolve 4821!', { action: 'resolve', code: '4821' }],
    ['\nResolve\t4821\n', { action: 'resolve', code: '4821' }],
    ['ＡＣＫ ４８２１', { action: 'acknowledge', code: '4821' }], // full-width, from some keyboards
    ['ACK', null],
    ['4821', null],
    ['ACK 48', null],
    ['ACK 4821 4822', null],
    ['ACKNOWLEDGED 4821', { action: 'acknowledge', code: '4821' }],
    ['Resolved 4821', { action: 'resolve', code: '4821' }],
    ['ACKED 4821', null],
    ['STOP', null],
    ['please ACK 4821', null],
    ['RES 4821', null],
    ['', null],
  ];
  for (const [body, expected] of replies) {
    it(`reads ${JSON.stringify(body)} as ${expected ? `${expected.action} ${expected.code}` : 'nothing'}`, () => {
      expect(parseSmsReply(body)).to.deep.equal(expected);
    });
  }

  it('maps 1 to acknowledge, 2 to resolve, anything else to nothing', () => {
    expect([parseVoiceDigits('1'), parseVoiceDigits('2'), parseVoiceDigits('3'), parseVoiceDigits(''), parseVoiceDigits(undefined)]).to.deep.equal([
      'acknowledge',
      'resolve',
      null,
      null,
      null,
    ]);
  });

  it('escapes what the call says, so a hostile title cannot add TwiML verbs', () => {
    const say = render('voice', escalation({ incident: incident({ title: `</Say><Dial>+19005550000</Dial><Say>${HOSTILE_TITLE}` }) })).say;
    const xml = voiceCallTwiml(say, 'https://klaxon.example/g?x=1&y=2');
    expect(xml).to.not.contain('<Dial>');
    expect(xml).to.contain('&lt;/Say&gt;&lt;Dial&gt;');
    expect(xml.match(/<Say/g)).to.have.length(2); // the page and the goodbye
    expect(xml).to.match(/^<\?xml version="1.0" encoding="UTF-8"\?><Response><Gather numDigits="1" action="https:\/\/klaxon.example\/g\?x=1&amp;y=2"/);
    expect(voiceCallTwiml('Resolved.', null)).to.equal('<?xml version="1.0" encoding="UTF-8"?><Response><Say>Resolved.</Say></Response>');
  });

  it('answers a key press: done and hang up, nothing changed and why, or the menu again', () => {
    expect(voiceAnswerTwiml({ kind: 'acted', action: 'acknowledge' })).to.contain('<Say>Acknowledged. Thank you.</Say><Hangup/>');
    expect(voiceAnswerTwiml({ kind: 'unchanged', say: 'Bob & Carol already resolved it.' })).to.contain(
      '<Say>Bob &amp; Carol already resolved it.</Say><Hangup/>',
    );
    expect(voiceAnswerTwiml({ kind: 'invalid', gatherActionUrl: 'https://klaxon.example/g' })).to.contain(
      '<Gather numDigits="1" action="https://klaxon.example/g"',
    );
  });
});
