/**
 * A Twilio-compatible stand-in: POST /2010-04-01/Accounts/{Sid}/Messages.json and
 * Calls.json, form-encoded, behind HTTP basic auth, answering 201 with a SID as Twilio
 * does. Unlike Twilio it honours `Idempotency-Key`: a repeated key gets the first answer
 * again and nothing is sent twice (the behaviour the notifier's crash test relies on).
 *
 * It also plays Twilio's side of the inbound webhooks: status callbacks, an SMS reply and
 * a key press, POSTed to a URL with an X-Twilio-Signature computed here, independently of
 * src/notify/channels/twilio.ts, so a test of the verifier checks the scheme rather than
 * the code against itself.
 */
import { createHmac } from 'node:crypto';
import { type Answer, type RecordedRequest, type RecordingServer, startRecordingServer } from './recording-http.ts';

export interface SentSms {
  sid: string;
  to: string;
  from: string;
  body: string;
  statusCallback: string | null;
  idempotencyKey: string | null;
}

export interface PlacedCall {
  sid: string;
  to: string;
  from: string;
  /** Inline TwiML, or null when the call fetches it from `url`. */
  twiml: string | null;
  url: string | null;
  statusCallback: string | null;
  idempotencyKey: string | null;
}

export interface TwilioStandIn {
  /** What the channel's baseUrl is set to. */
  readonly baseUrl: string;
  readonly accountSid: string;
  readonly authToken: string;
  readonly server: RecordingServer;
  /** Accepted, each once whatever the number of attempts. */
  readonly messages: SentSms[];
  readonly calls: PlacedCall[];
  /** Answers for the next API requests, before any routing (a 503, a hang, ...). */
  script(...answers: Answer[]): void;
  /** POSTs `params` form-encoded to `url` as Twilio would, signed with the auth token (or `signWith`). */
  postSigned(url: string, params: Record<string, string>, options?: { signWith?: string }): Promise<Response>;
  /** A delivery receipt for a message this stand-in accepted, as Twilio POSTs it to the StatusCallback. */
  sendStatusCallback(
    url: string,
    sms: SentSms,
    status: 'sent' | 'delivered' | 'undelivered' | 'failed',
    options?: { errorCode?: string; signWith?: string },
  ): Promise<Response>;
  /** An SMS from `from` to our number, as Twilio POSTs it to the number's messaging webhook. */
  sendInboundSms(url: string, sms: { from: string; to: string; body: string }, options?: { signWith?: string }): Promise<Response>;
  /** A key press during a call, as Twilio POSTs it to the <Gather action>. */
  sendKeyPress(url: string, call: PlacedCall, digits: string, options?: { signWith?: string }): Promise<Response>;
  close(): Promise<void>;
}

export async function startTwilioStandIn({
  accountSid = 'AC0123456789abcdef0123456789abcdef',
  authToken = 'stand-in-auth-token',
} = {}): Promise<TwilioStandIn> {
  const messages: SentSms[] = [];
  const calls: PlacedCall[] = [];
  /** Idempotency-Key → the answer it got, per resource. */
  const answered = new Map<string, Answer>();
  let serial = 0;
  const nextSid = (prefix: 'SM' | 'CA') => `${prefix}${(++serial).toString(16).padStart(32, '0')}`;

  const handler = (request: RecordedRequest): Answer => {
    const route = /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|Calls)\.json$/.exec(request.path);
    if (request.method !== 'POST' || !route) return twilioError(404, 20404, 'The requested resource was not found');
    if (route[1] !== accountSid || request.headers.authorization !== `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`) {
      return twilioError(401, 20003, 'Authenticate');
    }
    const resource = route[2] as 'Messages' | 'Calls';
    const keyHeader = request.headers['idempotency-key'];
    const key = typeof keyHeader === 'string' ? keyHeader : null;
    const seen = key === null ? undefined : answered.get(`${resource}:${key}`);
    if (seen) return seen;
    const form = new URLSearchParams(request.body);
    const to = form.get('To');
    const from = form.get('From');
    if (!to || !/^\+[1-9]\d{6,14}$/.test(to)) return twilioError(400, 21211, `The 'To' number ${to ?? ''} is not a valid phone number.`);
    if (!from) return twilioError(400, 21603, "A 'From' phone number is required.");
    let answer: Answer;
    if (resource === 'Messages') {
      const body = form.get('Body') ?? '';
      if (!body) return twilioError(400, 21602, 'Message body is required.');
      const sms: SentSms = { sid: nextSid('SM'), to, from, body, statusCallback: form.get('StatusCallback'), idempotencyKey: key };
      messages.push(sms);
      answer = { status: 201, body: { sid: sms.sid, account_sid: accountSid, to, from, body, status: 'queued' } };
    } else {
      const twiml = form.get('Twiml');
      const url = form.get('Url');
      if (!twiml && !url) return twilioError(400, 21205, 'Url or Twiml is required.');
      const call: PlacedCall = { sid: nextSid('CA'), to, from, twiml, url, statusCallback: form.get('StatusCallback'), idempotencyKey: key };
      calls.push(call);
      answer = { status: 201, body: { sid: call.sid, account_sid: accountSid, to, from, status: 'queued' } };
    }
    if (key !== null) answered.set(`${resource}:${key}`, answer);
    return answer;
  };

  const server = await startRecordingServer({ handler, name: 'Twilio stand-in' });
  const postSigned = (url: string, params: Record<string, string>, { signWith = authToken }: { signWith?: string } = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sign(signWith, url, params) },
      body: new URLSearchParams(params).toString(),
    });
  return {
    baseUrl: server.url,
    accountSid,
    authToken,
    server,
    messages,
    calls,
    script: (...answers) => server.script(...answers),
    postSigned,
    sendStatusCallback: (url, sms, status, { errorCode, signWith } = {}) =>
      postSigned(
        url,
        {
          AccountSid: accountSid,
          ApiVersion: '2010-04-01',
          MessageSid: sms.sid,
          SmsSid: sms.sid,
          MessageStatus: status,
          SmsStatus: status,
          To: sms.to,
          From: sms.from,
          ...(errorCode ? { ErrorCode: errorCode } : {}),
        },
        { signWith },
      ),
    sendInboundSms: (url, sms, { signWith } = {}) => {
      const sid = nextSid('SM');
      return postSigned(
        url,
        {
          AccountSid: accountSid,
          ApiVersion: '2010-04-01',
          MessageSid: sid,
          SmsMessageSid: sid,
          SmsSid: sid,
          From: sms.from,
          To: sms.to,
          Body: sms.body,
          NumMedia: '0',
          NumSegments: '1',
        },
        { signWith },
      );
    },
    sendKeyPress: (url, call, digits, { signWith } = {}) =>
      postSigned(
        url,
        {
          AccountSid: accountSid,
          ApiVersion: '2010-04-01',
          CallSid: call.sid,
          CallStatus: 'in-progress',
          Direction: 'outbound-api',
          From: call.from,
          To: call.to,
          Digits: digits,
        },
        { signWith },
      ),
    close: () => server.close(),
  };
}

/** Twilio's error body: {code, message, more_info, status}. */
export function twilioError(status: number, code: number, message: string, headers: Record<string, string> = {}): Answer {
  return { status, headers, body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status } };
}

/** The signature Twilio computes: base64(HMAC-SHA1(token, url + each name+value sorted by name)). */
function sign(token: string, url: string, params: Record<string, string>): string {
  const names = Object.keys(params).sort();
  let data = url;
  for (const name of names) data += name + params[name];
  return createHmac('sha1', token).update(data).digest('base64');
}
