/**
 * The Slack channel against the Slack stand-in (chat.postMessage, chat.update, the bot
 * token, Slack's {ok:false} answers), the v0 request signature check, and the parsing
 * of a button press the stand-in sends.
 */
import { expect } from 'chai';
import { createSlackChannel, parseSlackInteraction, parseSlackMessageId, slackSignature, verifySlackSignature } from '../../src/notify/channels/slack.ts';
import { render } from '../../src/notify/templates.ts';
import { type RecordingServer, startRecordingServer } from '../support/standins/recording-http.ts';
import { type SlackStandIn, startSlackStandIn } from '../support/standins/slack.ts';
import { NOW, abortAfter, clockAt, delivery, escalation, never, notice } from './fixtures.ts';

describe('Slack channel', () => {
  let slack: SlackStandIn;
  const message = render('slack', escalation());
  const channelFor = (stand: SlackStandIn, botToken = stand.botToken) =>
    createSlackChannel({ botToken, clock: clockAt(), apiBaseUrl: stand.apiBaseUrl, timeoutMs: 1_000 });

  beforeEach(async () => {
    slack = await startSlackStandIn();
  });
  afterEach(() => slack.close());

  it('posts the blocks with the bot token and returns channel:ts as the provider id', async () => {
    const outcome = await channelFor(slack).send(delivery('C0INCIDENTS', message), never());
    expect(slack.messages).to.have.length(1);
    const [posted] = slack.messages;
    expect(outcome).to.deep.equal({ status: 'sent', providerMessageId: `C0INCIDENTS:${posted?.ts}` });
    expect(slack.server.requests[0]?.headers.authorization).to.equal('Bearer xoxb-stand-in');
    expect(posted?.text).to.equal(message.text);
    expect(posted?.blocks).to.deep.equal(message.blocks);
    expect(posted?.metadata).to.deep.equal({
      event_type: 'klaxon_notification',
      event_payload: { notification_id: 'n-1', idempotency_key: 'esc-1:user-1:method-1:rule-1' },
    });
  });

  it('updates the message it posted (to show who acted)', async () => {
    const channel = channelFor(slack);
    const outcome = await channel.send(delivery('C0INCIDENTS', message), never());
    const ref = outcome.status === 'sent' && outcome.providerMessageId !== null ? parseSlackMessageId(outcome.providerMessageId) : null;
    expect(ref).to.not.equal(null);
    const acted = render('slack', notice('acknowledged'));
    expect(await channel.update(ref!, acted, never())).to.deep.equal(outcome);
    expect(slack.messages[0]?.updates).to.deep.equal([{ text: acted.text, blocks: acted.blocks }]);
    expect(await channel.update({ channel: 'C0INCIDENTS', ts: '1.000001' }, acted, never())).to.deep.equal({
      status: 'permanent',
      error: 'slack: message_not_found',
    });
  });

  it('reads ok:false ratelimited and HTTP 429 as transient with Retry-After, and Slack outages as transient', async () => {
    slack.script(
      { status: 200, headers: { 'retry-after': '3' }, body: { ok: false, error: 'ratelimited' } },
      { status: 429, headers: { 'retry-after': '30' }, body: { ok: false, error: 'ratelimited' } },
      { status: 503, body: 'upstream unavailable' },
      { status: 200, body: { ok: false, error: 'internal_error' } },
    );
    const channel = channelFor(slack);
    expect(await channel.send(delivery('C0INCIDENTS', message), never())).to.deep.equal({
      status: 'transient',
      error: 'slack: ratelimited',
      retryAfterMs: 3_000,
    });
    expect(await channel.send(delivery('C0INCIDENTS', message), never())).to.deep.include({ status: 'transient', retryAfterMs: 30_000 });
    expect(await channel.send(delivery('C0INCIDENTS', message), never())).to.deep.include({ status: 'transient' });
    expect(await channel.send(delivery('C0INCIDENTS', message), never())).to.deep.equal({ status: 'transient', error: 'slack: internal_error' });
    expect(slack.messages).to.have.length(0);
  });

  it('reads a wrong token (invalid_auth) and an unknown channel (channel_not_found) as permanent', async () => {
    expect(await channelFor(slack, 'xoxb-revoked').send(delivery('C0INCIDENTS', message), never())).to.deep.equal({
      status: 'permanent',
      error: 'slack: invalid_auth',
    });
    expect(await channelFor(slack).send(delivery('#no-such-channel', message), never())).to.deep.equal({
      status: 'permanent',
      error: 'slack: channel_not_found',
    });
  });

  it('gives up on a Slack that hangs when the signal aborts: transient', async () => {
    slack.script({ hang: true });
    const outcome = await channelFor(slack).send(delivery('C0INCIDENTS', message), abortAfter(50));
    expect(outcome.status).to.equal('transient');
  });
});

describe('Slack interactions: the v0 signature and the button press', () => {
  const nowMs = NOW.getTime();
  const timestamp = Math.floor(nowMs / 1000);
  let slack: SlackStandIn;
  let endpoint: RecordingServer;
  const press = { userId: 'U0ALICE', actionId: 'klaxon_acknowledge', value: 'ACK-TOKEN', channel: 'C0INCIDENTS', messageTs: '1767225601.000100', timestamp };

  before(async () => {
    slack = await startSlackStandIn();
    endpoint = await startRecordingServer({ name: 'interactions endpoint' });
  });
  after(async () => {
    await slack.close();
    await endpoint.close();
  });

  it("verifies Slack's own documented example", () => {
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const signature = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
    expect(slackSignature('8f742231b10e8888abcd99yyyzzz85a5', '1531420618', body)).to.equal(signature);
    expect(verifySlackSignature('8f742231b10e8888abcd99yyyzzz85a5', '1531420618', body, signature, 1531420618_000 + 60_000)).to.deep.equal({ ok: true });
  });

  it('accepts a press the stand-in signed, and parses who pressed what, where', async () => {
    const response = await slack.pressButton(`${endpoint.url}/slack/interactions`, press);
    expect(response.status).to.equal(200);
    const [request] = endpoint.requests;
    const headers = request?.headers ?? {};
    const check = verifySlackSignature(
      slack.signingSecret,
      String(headers['x-slack-request-timestamp']),
      request?.body ?? '',
      String(headers['x-slack-signature']),
      nowMs,
    );
    expect(check).to.deep.equal({ ok: true });
    expect(parseSlackInteraction(request?.body ?? '')).to.deep.equal({
      action: 'acknowledge',
      token: 'ACK-TOKEN',
      slackUserId: 'U0ALICE',
      slackTeamId: 'T0STANDIN',
      channelId: 'C0INCIDENTS',
      messageTs: '1767225601.000100',
      responseUrl: `${slack.server.url}/actions/T0STANDIN/1/response`,
    });
  });

  it('refuses a press signed with another secret, a changed body, a stale or future timestamp, missing or malformed headers', () => {
    const url = `${endpoint.url}/slack/interactions`;
    const forged = slack.buttonRequest(url, press, { signWith: 'not-the-signing-secret' });
    const verify = (request: { body: string; headers: Record<string, string> }, at = nowMs) =>
      verifySlackSignature(slack.signingSecret, request.headers['x-slack-request-timestamp'], request.body, request.headers['x-slack-signature'], at);
    expect(verify(forged)).to.deep.equal({ ok: false, reason: 'bad_signature' });

    const genuine = slack.buttonRequest(url, press);
    expect(verify({ ...genuine, body: genuine.body.replace('klaxon_acknowledge', 'klaxon_resolve') })).to.deep.equal({ ok: false, reason: 'bad_signature' });
    expect(verify(genuine, nowMs + 5 * 60_000)).to.deep.equal({ ok: true });
    expect(verify(genuine, nowMs + 5 * 60_000 + 1_000)).to.deep.equal({ ok: false, reason: 'stale' });
    expect(verify(genuine, nowMs - 5 * 60_000 - 1_000)).to.deep.equal({ ok: false, reason: 'stale' });
    expect(verifySlackSignature(slack.signingSecret, undefined, genuine.body, genuine.headers['x-slack-signature'], nowMs)).to.deep.equal({
      ok: false,
      reason: 'missing',
    });
    expect(verifySlackSignature(slack.signingSecret, 'yesterday', genuine.body, genuine.headers['x-slack-signature'], nowMs)).to.deep.equal({
      ok: false,
      reason: 'malformed',
    });
    expect(verifySlackSignature(slack.signingSecret, String(timestamp), genuine.body, 'v1=abc', nowMs)).to.deep.equal({ ok: false, reason: 'malformed' });
  });

  it('accepts either signing secret while one is rotated', () => {
    const genuine = slack.buttonRequest(`${endpoint.url}/slack/interactions`, press);
    const [ts, sig] = [genuine.headers['x-slack-request-timestamp'], genuine.headers['x-slack-signature']];
    expect(verifySlackSignature(['the-new-secret', slack.signingSecret], ts, genuine.body, sig, nowMs)).to.deep.equal({ ok: true });
    expect(verifySlackSignature(['the-new-secret'], ts, genuine.body, sig, nowMs)).to.deep.equal({ ok: false, reason: 'bad_signature' });
  });

  it('parses only our two buttons: another action, another payload type or garbage is null', () => {
    const bodyOf = (overrides: Partial<typeof press>) => slack.buttonRequest('http://x', { ...press, ...overrides }).body;
    expect(parseSlackInteraction(bodyOf({ actionId: 'klaxon_resolve', value: 'RES-TOKEN' }))).to.include({ action: 'resolve', token: 'RES-TOKEN' });
    expect(parseSlackInteraction(bodyOf({ actionId: 'klaxon_open_2' }))).to.equal(null);
    expect(parseSlackInteraction(`payload=${encodeURIComponent(JSON.stringify({ type: 'view_submission', user: { id: 'U1' } }))}`)).to.equal(null);
    expect(parseSlackInteraction('payload=%7Bnot-json')).to.equal(null);
    expect(parseSlackInteraction('')).to.equal(null);
  });
});
