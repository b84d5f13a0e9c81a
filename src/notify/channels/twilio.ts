/**
 * SMS and voice through a Twilio-compatible REST API (base URL configurable): Messages.json
 * and Calls.json, form-encoded, HTTP basic auth with the account SID and auth token. Also
 * what the inbound endpoints need: the X-Twilio-Signature check, the TwiML of a call and
 * of its key press, and the parsers of an SMS reply and of a status callback.
 *
 * Delivery guarantee: at least once. "Sent" means the provider accepted the message or
 * call (HTTP 201) and gave its SID; whether the phone got it arrives later as a status
 * callback (a delivery receipt: parseTwilioStatusCallback). 429, 5xx, network errors and
 * timeouts are transient (Retry-After honoured); every other answer (an invalid or
 * unsubscribed number, bad credentials) is permanent. Every attempt sends an
 * `Idempotency-Key` header: the stand-in in our tests (and any provider that honours it)
 * answers a repeated key with the first SID instead of sending again. Twilio's own REST
 * API ignores that header (its I-Twilio-Idempotency-Token is on the webhooks it sends,
 * not on requests it receives): against real Twilio a crash between the POST and
 * recording its answer sends a second SMS or places a second call.
 */
import { createHmac } from 'node:crypto';
import type { Clock } from '../../clock/clock.ts';
import { type Channel, type Delivery, type DeliveryOutcome, type SmsMessage, type VoiceMessage, permanent, sent, transient } from './channel.ts';
import { type HttpResult, post, retryAfterMs, snippet } from './http.ts';
import { type SignatureCheck, anyEqual, asList } from './signature.ts';

export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  /** The sending number (E.164) or, for SMS, a messaging service's number. */
  from: string;
  clock: Clock;
  /** Default https://api.twilio.com. */
  baseUrl?: string;
  timeoutMs?: number;
  /** Where the provider reports progress (queued, delivered, failed...); absent: no receipts. */
  statusCallbackUrl?: (notificationId: string) => string;
}

export interface TwilioVoiceOptions extends TwilioOptions {
  /** Where the key press is POSTed: the <Gather action>. */
  gatherActionUrl: (notificationId: string) => string;
  /**
   * When given, the call fetches its TwiML from this URL when it is answered, rather than
   * carrying it inline: the endpoint can then re-check the incident and say "already
   * acknowledged" to someone who picks up minutes later. Inline (the default) needs no
   * endpoint and says what was true when the call was placed.
   */
  twimlUrl?: (notificationId: string) => string;
}

export function createTwilioSmsChannel(options: TwilioOptions): Channel<'sms'> {
  return {
    kind: 'sms',
    send(delivery: Delivery<SmsMessage>, signal: AbortSignal) {
      const params = new URLSearchParams({ To: delivery.destination, From: options.from, Body: delivery.message.text });
      if (options.statusCallbackUrl) params.set('StatusCallback', options.statusCallbackUrl(delivery.notificationId));
      return create(options, 'Messages', params, delivery, signal);
    },
  };
}

export function createTwilioVoiceChannel(options: TwilioVoiceOptions): Channel<'voice'> {
  return {
    kind: 'voice',
    send(delivery: Delivery<VoiceMessage>, signal: AbortSignal) {
      const params = new URLSearchParams({ To: delivery.destination, From: options.from });
      if (options.twimlUrl) {
        params.set('Url', options.twimlUrl(delivery.notificationId));
        params.set('Method', 'POST');
      } else {
        const { say, gather } = delivery.message;
        params.set('Twiml', voiceCallTwiml(say, gather ? options.gatherActionUrl(delivery.notificationId) : null));
      }
      if (options.statusCallbackUrl) params.set('StatusCallback', options.statusCallbackUrl(delivery.notificationId));
      return create(options, 'Calls', params, delivery, signal);
    },
  };
}

async function create(
  options: TwilioOptions,
  resource: 'Messages' | 'Calls',
  params: URLSearchParams,
  delivery: Delivery<unknown>,
  signal: AbortSignal,
): Promise<DeliveryOutcome> {
  const { accountSid, authToken, clock, baseUrl = 'https://api.twilio.com', timeoutMs = 10_000 } = options;
  const url = `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/${resource}.json`;
  const headers = {
    authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
    'idempotency-key': delivery.idempotencyKey,
  };
  const result = await post(url, { headers, body: params.toString() }, { timeoutMs, signal });
  return classifyTwilioAnswer(result, clock.now().getTime());
}

function classifyTwilioAnswer(result: HttpResult, nowMs: number): DeliveryOutcome {
  if (!result.answered) return result.outcome;
  const { status, headers, text } = result;
  let answer: { sid?: unknown; code?: unknown; message?: unknown } = {};
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    // not JSON: the status decides alone
  }
  // Accepted is accepted: a 2xx without a readable SID is still on its way, and sending it
  // again would be the duplicate we avoid.
  if (status >= 200 && status < 300) return sent(typeof answer.sid === 'string' ? answer.sid : null);
  const code = typeof answer.code === 'number' || typeof answer.code === 'string' ? answer.code : '?';
  const error = typeof answer.message === 'string' ? `HTTP ${status}: twilio ${code}: ${snippet(answer.message).slice(2)}` : `HTTP ${status}${snippet(text)}`;
  if (status === 429 || status >= 500) return transient(error, retryAfterMs(headers, nowMs));
  return permanent(error);
}

// ---------------------------------------------------------------------------------------
// Inbound: what Twilio POSTs to us.

/** X-Twilio-Signature: base64 HMAC-SHA1 of the full URL followed by each POST parameter, sorted by name, as name+value. */
export function twilioSignature(authToken: string, fullUrl: string, params: URLSearchParams | Record<string, string>): string {
  const pairs = params instanceof URLSearchParams ? [...params.entries()] : Object.entries(params);
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const data = pairs.reduce((text, [name, value]) => text + name + value, fullUrl);
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/**
 * Whether an inbound request (a status callback, an SMS, a key press) was signed by the
 * provider with one of the auth tokens (two while the secondary one is being promoted).
 * `fullUrl` must be the URL exactly as the provider called it (scheme, host, port, path
 * and query: the public one, not what a proxy forwarded); `params` the parsed form body.
 * Twilio's scheme has no timestamp: replays are stopped by the actions being idempotent.
 */
export function verifyTwilioSignature(
  authToken: string | readonly string[],
  fullUrl: string,
  params: URLSearchParams | Record<string, string>,
  signatureHeader: string | null | undefined,
): SignatureCheck {
  if (!signatureHeader) return { ok: false, reason: 'missing' };
  const expected = asList(authToken).map((token) => twilioSignature(token, fullUrl, params));
  return anyEqual([signatureHeader], expected) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

/** An SMS reply naming an action and the per-notification code the page gave. */
export interface SmsReply {
  action: 'acknowledge' | 'resolve';
  code: string;
}

/**
 * `ACK 4821`, `ack4821`, ` Acknowledge #4821. `, `RESOLVE 4821`, `resolved 4821`: case-insensitive,
 * tolerant of spaces, a `#` and a final full stop or "!"; full-width letters and digits
 * (some phone keyboards) are folded first. Anything else (STOP, a question, two codes) is
 * null: the endpoint answers with the usage rather than guessing.
 */
export function parseSmsReply(body: string): SmsReply | null {
  const match = /^\s*(ack|acknowledged?|resolved?)\s*#?\s*(\d{4,8})\s*[.!]?\s*$/i.exec(body.normalize('NFKC'));
  if (!match) return null;
  return { action: (match[1] as string).toLowerCase().startsWith('res') ? 'resolve' : 'acknowledge', code: match[2] as string };
}

/** The action of a key press in answer to the call's menu: 1 acknowledge, 2 resolve. */
export function parseVoiceDigits(digits: string | null | undefined): 'acknowledge' | 'resolve' | null {
  return digits === '1' ? 'acknowledge' : digits === '2' ? 'resolve' : null;
}

const MENU = 'Press 1 to acknowledge. Press 2 to resolve.';

/**
 * The TwiML of a page by phone: the message and the menu, said twice while waiting for
 * one key; `gatherActionUrl` null for a notice that asks nothing (e.g. "resolved").
 */
export function voiceCallTwiml(say: string, gatherActionUrl: string | null): string {
  if (gatherActionUrl === null) return twiml(`<Say>${xml(say)}</Say>`);
  return twiml(
    `<Gather numDigits="1" action="${xml(gatherActionUrl)}" method="POST" timeout="10">` +
      `<Say loop="2">${xml(`${say} ${MENU}`)}</Say>` +
      `</Gather><Say>No key was pressed. Goodbye.</Say>`,
  );
}

export type VoiceAnswer =
  /** The key press acted. */
  | { kind: 'acted'; action: 'acknowledge' | 'resolve' }
  /** Nothing changed, and why (e.g. "Alice already resolved it."). */
  | { kind: 'unchanged'; say: string }
  /** A key other than 1 or 2: the menu again. */
  | { kind: 'invalid'; gatherActionUrl: string };

/** The TwiML answering a key press. */
export function voiceAnswerTwiml(answer: VoiceAnswer): string {
  switch (answer.kind) {
    case 'acted':
      return twiml(`<Say>${answer.action === 'acknowledge' ? 'Acknowledged' : 'Resolved'}. Thank you.</Say><Hangup/>`);
    case 'unchanged':
      return twiml(`<Say>${xml(answer.say)}</Say><Hangup/>`);
    case 'invalid':
      return twiml(
        `<Gather numDigits="1" action="${xml(answer.gatherActionUrl)}" method="POST" timeout="10">` +
          `<Say>Sorry, that key does nothing. ${MENU}</Say></Gather><Say>Goodbye.</Say>`,
      );
  }
}

/** The TwiML answering an inbound SMS with one reply message (empty text: no reply at all). */
export function smsReplyTwiml(text: string): string {
  return text === '' ? twiml('') : twiml(`<Message>${xml(text)}</Message>`);
}

function twiml(inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${inner}</Response>`;
}

/** XML text and attribute escaping; characters XML 1.0 cannot carry at all are dropped. */
function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** A delivery receipt: what a status callback says about a message or a call. */
export interface TwilioStatus {
  /** The SID the channel returned as providerMessageId. */
  sid: string;
  kind: 'sms' | 'voice';
  /** The provider's word (delivered, undelivered, failed, completed, busy, no-answer, ...). */
  status: string;
  /** No further callback will change it. */
  final: boolean;
  /** Final and reached the person (an answered call may still be a voicemail). */
  reached: boolean;
  errorCode: string | null;
}

const FINAL_SMS = new Set(['delivered', 'read', 'undelivered', 'failed', 'canceled']);
const FINAL_CALL = new Set(['completed', 'busy', 'no-answer', 'failed', 'canceled']);

/** The receipt in a status callback's form parameters; null when it is neither a message's nor a call's. */
export function parseTwilioStatusCallback(params: URLSearchParams): TwilioStatus | null {
  const errorCode = params.get('ErrorCode') || null;
  const messageSid = params.get('MessageSid');
  const messageStatus = params.get('MessageStatus') ?? params.get('SmsStatus');
  if (messageSid && messageStatus) {
    const final = FINAL_SMS.has(messageStatus);
    return { sid: messageSid, kind: 'sms', status: messageStatus, final, reached: messageStatus === 'delivered' || messageStatus === 'read', errorCode };
  }
  const callSid = params.get('CallSid');
  const callStatus = params.get('CallStatus');
  if (callSid && callStatus) {
    return { sid: callSid, kind: 'voice', status: callStatus, final: FINAL_CALL.has(callStatus), reached: callStatus === 'completed', errorCode };
  }
  return null;
}
