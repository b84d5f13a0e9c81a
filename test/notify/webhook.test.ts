/**
 * The webhook channel against a real recording HTTP server: what it sends (body, signature,
 * Idempotency-Key), how it reads every kind of answer, and its timeouts; and the verifier
 * receivers use.
 */
import { createHmac } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import type { DeliveryOutcome } from '../../src/notify/channels/channel.ts';
import { retryAfterMs } from '../../src/notify/channels/http.ts';
import { createWebhookChannel, signWebhook, verifyWebhookSignature } from '../../src/notify/channels/webhook.ts';
import { render } from '../../src/notify/templates.ts';
import { type RecordingServer, startRecordingServer } from '../support/standins/recording-http.ts';
import { NOW, abortAfter, clockAt, delivery, escalation, never } from './fixtures.ts';

const SECRET = 'whsec_current_0123456789abcdef';
const OLD_SECRET = 'whsec_previous_0123456789abcdef';
const nowMs = NOW.getTime();

/** The signature a receiver computes, written here from the documented scheme, not from the module. */
const expectedV1 = (secret: string, t: string, body: string) => createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');

describe('webhook channel', function () {
  let receiver: RecordingServer;
  const channel = createWebhookChannel({ secrets: [SECRET], clock: clockAt(), timeoutMs: 1_000 });
  const message = render('webhook', escalation());
  const send = (signal = never(), destination = `${receiver.url}/hook`) => channel.send(delivery(destination, message), signal);

  beforeEach(async () => {
    receiver = await startRecordingServer({ name: 'webhook receiver' });
  });
  afterEach(() => receiver.close());

  it('POSTs the JSON body with its Idempotency-Key and a signature the receiver can check, and a 2xx is sent', async () => {
    receiver.script({ status: 204 });
    expect(await send()).to.deep.equal({ status: 'sent', providerMessageId: null });
    const [request] = receiver.requests;
    expect(request?.method).to.equal('POST');
    expect(request?.path).to.equal('/hook');
    expect(request?.headers['content-type']).to.equal('application/json');
    expect(request?.headers['idempotency-key']).to.equal('esc-1:user-1:method-1:rule-1');
    expect(JSON.parse(request?.body ?? '')).to.deep.equal(message.body);
    const header = String(request?.headers['klaxon-signature']);
    const t = String(Math.floor(nowMs / 1000));
    expect(header).to.equal(`t=${t},v1=${expectedV1(SECRET, t, request?.body ?? '')}`);
    expect(verifyWebhookSignature(SECRET, header, request?.body ?? '', { nowMs })).to.deep.equal({ ok: true });
  });

  it('sends the same Idempotency-Key on every attempt of one notification', async () => {
    receiver.script({ status: 503 }, { status: 200 });
    expect((await send()).status).to.equal('transient');
    expect((await send()).status).to.equal('sent');
    expect(receiver.requests.map((request) => request.headers['idempotency-key'])).to.deep.equal([
      'esc-1:user-1:method-1:rule-1',
      'esc-1:user-1:method-1:rule-1',
    ]);
  });

  it('signs with every secret while one is rotated, so receivers on the old or the new secret both verify', async () => {
    const rotating = createWebhookChannel({ secrets: [SECRET, OLD_SECRET], clock: clockAt() });
    expect((await rotating.send(delivery(`${receiver.url}/hook`, message), never())).status).to.equal('sent');
    const [request] = receiver.requests;
    const header = String(request?.headers['klaxon-signature']);
    expect(header.split(',')).to.have.length(3);
    expect(verifyWebhookSignature(OLD_SECRET, header, request?.body ?? '', { nowMs })).to.deep.equal({ ok: true });
    expect(verifyWebhookSignature(SECRET, header, request?.body ?? '', { nowMs })).to.deep.equal({ ok: true });
    expect(verifyWebhookSignature('whsec_someone_else_entirely_000', header, request?.body ?? '', { nowMs })).to.deep.equal({
      ok: false,
      reason: 'bad_signature',
    });
  });

  const cases: [string, { status: number; headers?: Record<string, string> }, DeliveryOutcome['status'], number | undefined][] = [
    ['a 500', { status: 500 }, 'transient', undefined],
    ['a 503 with Retry-After in seconds', { status: 503, headers: { 'retry-after': '7' } }, 'transient', 7_000],
    // The answer's Date is 5 minutes ahead of our clock: the wait is measured from it, not from us.
    [
      "a 429 with Retry-After as an HTTP date (read against the answer's Date)",
      { status: 429, headers: { date: 'Mon, 23 Nov 2026 16:25:00 GMT', 'retry-after': 'Mon, 23 Nov 2026 16:25:30 GMT' } },
      'transient',
      30_000,
    ],
    ['a 429 asking for an hour (capped at 5 minutes)', { status: 429, headers: { 'retry-after': '3600' } }, 'transient', 300_000],
    ['a 408', { status: 408 }, 'transient', undefined],
    ['a 400', { status: 400 }, 'permanent', undefined],
    ['a 404', { status: 404 }, 'permanent', undefined],
    ['a 410', { status: 410 }, 'permanent', undefined],
    ['a 200', { status: 200 }, 'sent', undefined],
    ['a 202', { status: 202 }, 'sent', undefined],
  ];
  for (const [what, answer, status, retryAfterMs] of cases) {
    it(`reads ${what} as ${status}${retryAfterMs === undefined ? '' : ` after ${retryAfterMs} ms`}`, async () => {
      receiver.script({ ...answer, body: 'receiver says no' });
      const outcome = await send();
      expect(outcome.status).to.equal(status);
      if (outcome.status === 'transient') expect(outcome.retryAfterMs).to.equal(retryAfterMs);
      if (outcome.status !== 'sent') expect(outcome.error).to.contain(`HTTP ${answer.status}`);
    });
  }

  it('does not follow a redirect (a POST would become a GET): permanent, one request', async () => {
    receiver.script({ status: 301, headers: { location: `${receiver.url}/moved` } });
    const outcome = await send();
    expect(outcome).to.include({ status: 'permanent' });
    expect(outcome.status === 'permanent' && outcome.error).to.contain('/moved');
    expect(receiver.requests).to.have.length(1);
  });

  it('gives up on a receiver that does not answer within its timeout: transient', async () => {
    const quick = createWebhookChannel({ secrets: [SECRET], clock: clockAt(), timeoutMs: 100 });
    receiver.script({ hang: true });
    const startedAt = performance.now();
    const outcome = await quick.send(delivery(`${receiver.url}/hook`, message), never());
    expect(outcome).to.deep.equal({ status: 'transient', error: 'timed out after 100 ms' });
    expect(performance.now() - startedAt).to.be.below(1_000);
  });

  it('gives up when the caller aborts (the lease or shutdown): transient', async () => {
    receiver.script({ hang: true });
    const outcome = await send(abortAfter(50));
    expect(outcome.status).to.equal('transient');
    expect(outcome.status === 'transient' && outcome.error).to.match(/^aborted/);
  });

  it("leaves no listener on the caller's signal, which may be the process's long-lived shutdown signal", async () => {
    const shutdown = new AbortController();
    receiver.script({ status: 200 }, { status: 503 }, { hang: true });
    await send(shutdown.signal);
    await send(shutdown.signal);
    await createWebhookChannel({ secrets: [SECRET], clock: clockAt(), timeoutMs: 50 }).send(delivery(`${receiver.url}/hook`, message), shutdown.signal);
    expect(getEventListeners(shutdown.signal, 'abort')).to.have.length(0);
  });

  it('reads a refused connection as transient', async () => {
    const gone = receiver.url;
    await receiver.close();
    const outcome = await channel.send(delivery(`${gone}/hook`, message), never());
    expect(outcome).to.deep.equal({ status: 'transient', error: 'network: ECONNREFUSED' });
    receiver = await startRecordingServer({ name: 'webhook receiver' }); // for afterEach
  });

  it('refuses a destination that is not an http(s) URL before sending anything: permanent', async () => {
    expect(await channel.send(delivery('ftp://example.com/x', message), never())).to.include({ status: 'permanent' });
    expect(await channel.send(delivery('not a url', message), never())).to.include({ status: 'permanent' });
    expect(receiver.requests).to.have.length(0);
  });
});

describe('Retry-After', () => {
  const read = (headers: Record<string, string>) => retryAfterMs(new Headers(headers), nowMs);
  it('reads seconds, or an HTTP date against the Date header or else our clock; never negative, capped, garbage ignored', () => {
    expect(read({ 'retry-after': '0' })).to.equal(0);
    expect(read({ 'retry-after': ' 120 ' })).to.equal(120_000);
    expect(read({ 'retry-after': 'Mon, 23 Nov 2026 16:21:00 GMT' })).to.equal(60_000);
    expect(read({ 'retry-after': 'Mon, 23 Nov 2026 16:19:00 GMT' })).to.equal(0);
    expect(read({ 'retry-after': 'Tue, 24 Nov 2026 16:20:00 GMT' })).to.equal(300_000);
    expect(read({ 'retry-after': 'soon' })).to.equal(undefined);
    expect(read({ 'retry-after': '-5' })).to.equal(undefined);
    expect(read({})).to.equal(undefined);
  });
});

describe('verifyWebhookSignature', () => {
  const body = '{"type":"escalation"}';
  const header = signWebhook([SECRET], body, nowMs);

  it('accepts the signature of the body at a time within the tolerance', () => {
    expect(verifyWebhookSignature(SECRET, header, body, { nowMs: nowMs + 299_000 })).to.deep.equal({ ok: true });
    expect(verifyWebhookSignature([OLD_SECRET, SECRET], header, body, { nowMs })).to.deep.equal({ ok: true });
  });

  it('refuses another body, another secret, a stale or future timestamp, a malformed or missing header', () => {
    expect(verifyWebhookSignature(SECRET, header, `${body} `, { nowMs })).to.deep.equal({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhookSignature(OLD_SECRET, header, body, { nowMs })).to.deep.equal({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhookSignature(SECRET, header, body, { nowMs: nowMs + 301_000 })).to.deep.equal({ ok: false, reason: 'stale' });
    expect(verifyWebhookSignature(SECRET, header, body, { nowMs: nowMs - 301_000 })).to.deep.equal({ ok: false, reason: 'stale' });
    expect(verifyWebhookSignature(SECRET, header, body, { nowMs: nowMs + 30_000, toleranceMs: 10_000 })).to.deep.equal({ ok: false, reason: 'stale' });
    expect(verifyWebhookSignature(SECRET, 'v1=abc', body, { nowMs })).to.deep.equal({ ok: false, reason: 'malformed' });
    expect(verifyWebhookSignature(SECRET, `t=${Math.floor(nowMs / 1000)}`, body, { nowMs })).to.deep.equal({ ok: false, reason: 'malformed' });
    expect(verifyWebhookSignature(SECRET, undefined, body, { nowMs })).to.deep.equal({ ok: false, reason: 'missing' });
  });

  it('refuses a signature moved to another timestamp (t is signed too)', () => {
    const moved = header.replace(/^t=(\d+)/, (_all, t: string) => `t=${Number(t) + 1}`);
    expect(verifyWebhookSignature(SECRET, moved, body, { nowMs })).to.deep.equal({ ok: false, reason: 'bad_signature' });
  });
});
