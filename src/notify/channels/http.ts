/**
 * What the HTTP channels (webhook, Teams, Slack, Twilio) share: one POST bounded by a
 * timeout and the caller's signal, no redirects, a capped read of the answer, and the
 * reading of Retry-After. node:http(s) with keep-alive agents; no client library.
 *
 * Not the global fetch (undici): it cost 1.0–1.6 ms of CPU a request against 0.2–0.4 ms
 * here, and at a few hundred notifications a second that was half the notifier's CPU
 * (issue 11's notify benchmark, README "Benchmark").
 */
import { Agent as HttpAgent, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { type DeliveryOutcome, permanent, sent, transient } from './channel.ts';

/** What an answer's headers offer the classifiers (a fetch `Headers` is one too). */
export interface HeaderReader {
  /** The header's value (repeated ones joined with ", "), or null. */
  get(name: string): string | null;
}

/** What came back, or why nothing did (already classified: always transient). */
export type HttpResult = { answered: true; status: number; headers: HeaderReader; text: string } | { answered: false; outcome: DeliveryOutcome };

export interface PostOptions {
  timeoutMs: number;
  signal: AbortSignal;
  /** The most of the answer we read: enough for an error message or a provider id, never a hostile stream. */
  maxAnswerBytes?: number;
}

/**
 * One pool of connections per scheme, reused across requests to the same origin (a
 * provider's API, a webhook receiver): no TCP and TLS handshake per notification.
 * maxSockets bounds the connections to one origin (more requests queue, inside their
 * timeout); an idle connection is closed after IDLE_SOCKET_MS, under the 5 s a Node
 * server keeps one, so we rarely write to a connection the other end is closing (Node
 * also honours a shorter Keep-Alive: timeout=N the server announces). A request that does
 * hit that race fails as a network error: transient, retried with the same idempotency key.
 */
const IDLE_SOCKET_MS = 4_000;
const agentOptions = { keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: IDLE_SOCKET_MS };
const agents = { 'http:': new HttpAgent(agentOptions), 'https:': new HttpsAgent(agentOptions) };

/**
 * POSTs and reads the answer. Redirects are not followed (node:http never does; a POST
 * answered with 301/302 would be replayed as a GET without the body), so a moved endpoint
 * is an error the owner of the contact method must fix (the caller classifies the 3xx).
 *
 * One timer covers everything (queueing for a connection, connecting, TLS, sending, the
 * answer's head and its body): a receiver that accepts the connection and never answers,
 * or trickles its answer, holds a send slot for `timeoutMs` at most. On timeout or abort
 * the request is destroyed, and so is its connection: it never goes back to the pool.
 */
export function post(url: string, init: { headers: Record<string, string>; body: string }, options: PostOptions): Promise<HttpResult> {
  const { timeoutMs, signal, maxAnswerBytes = 64 * 1024 } = options;
  return new Promise<HttpResult>((resolve) => {
    let settled = false;
    let request: ReturnType<typeof httpRequest> | undefined;
    // Our timer and the caller's listener are both detached when the request settles: the
    // caller's signal may be the notifier's long-lived shutdown signal.
    const settle = (result: HttpResult, destroy: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (destroy) request?.destroy();
      resolve(result);
    };
    const fail = (error: unknown) => settle({ answered: false, outcome: transient(`network: ${describe(error)}`) }, true);
    // After a timeout the request may have arrived and been acted on: the retry carries
    // the same idempotency key, which is what keeps it from being a second page.
    const timer = setTimeout(() => settle({ answered: false, outcome: transient(`timed out after ${timeoutMs} ms`) }, true), timeoutMs);
    const onAbort = () => settle({ answered: false, outcome: transient(`aborted: ${describe(signal.reason)}`) }, true);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });

    try {
      const target = new URL(url);
      const agent = agents[target.protocol as keyof typeof agents];
      if (!agent) return fail(new Error(`the scheme ${target.protocol} is not http(s)`));
      const body = Buffer.from(init.body, 'utf8');
      const requestOptions: RequestOptions = {
        method: 'POST',
        agent,
        headers: { 'user-agent': 'klaxon', ...init.headers, 'content-length': String(body.byteLength) },
      };
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      // Throws at once on what cannot be sent (an invalid header value): a network error, as fetch's TypeError was.
      request = send(target, requestOptions, (response) =>
        readCapped(
          response,
          maxAnswerBytes,
          (text) =>
            settle(
              { answered: true, status: response.statusCode ?? 0, headers: headerReader(response.headers), text },
              // An answer cut short at the cap leaves unread bytes on the connection: not reusable.
              !response.complete,
            ),
          fail,
        ),
      );
      request.on('error', fail);
      request.end(body);
    } catch (error) {
      fail(error);
    }
  });
}

/** Reads at most `maxBytes` of the body, then calls `done` with its text (the rest is dropped with the connection). */
function readCapped(response: IncomingMessage, maxBytes: number, done: (text: string) => void, fail: (error: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const finish = () => done(Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8'));
  response.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size >= maxBytes) finish();
  });
  response.on('end', finish);
  // The connection dropped before the answer was complete (an error, or a close without one).
  response.on('error', fail);
  response.on('close', () => {
    if (!response.complete) fail(new Error('the connection closed before the answer ended'));
  });
}

/** Reads node's lower-cased header object the way `Headers.get` reads its own. */
function headerReader(headers: IncomingHttpHeaders): HeaderReader {
  return {
    get(name: string): string | null {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/** Node's socket errors carry a code (ECONNREFUSED, ...); fetch's TypeError carried it in `cause`. */
function describe(error: unknown): string {
  if (error instanceof Error) {
    const { code } = error as { code?: unknown };
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    if (cause && typeof cause.code === 'string') return cause.code;
    if (cause && typeof cause.message === 'string') return cause.message;
    return error.message;
  }
  return String(error);
}

/** The longest wait a Retry-After can impose (a provider's "come back tomorrow" must not park a page). */
export const RETRY_AFTER_CAP_MS = 5 * 60_000;

/**
 * Retry-After in ms: delta-seconds or an HTTP-date (RFC 9110 §10.2.3), capped; undefined
 * when absent or unreadable. A date is measured against the answer's own Date header when
 * it has one, so a skew between our clock and the provider's does not stretch the wait.
 */
export function retryAfterMs(headers: HeaderReader, nowMs: number, capMs = RETRY_AFTER_CAP_MS): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  let waitMs: number;
  if (/^\d+$/.test(value)) {
    waitMs = Number(value) * 1000;
  } else {
    // An HTTP-date names its month; without the test, Date.parse reads "-5" as a year.
    const at = /[A-Za-z]/.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(at)) return undefined;
    const served = Date.parse(headers.get('date') ?? '');
    waitMs = at - (Number.isNaN(served) ? nowMs : served);
  }
  return Math.min(Math.max(0, waitMs), capMs);
}

/**
 * The rule the webhook and Teams channels share (issue 11): 2xx sent; 408, 429 and 5xx
 * transient, honouring Retry-After; any other answer permanent (a 4xx will be refused
 * again; a 3xx is a moved endpoint we do not follow).
 */
export function classifyStatus(
  answer: { status: number; headers: HeaderReader; text: string },
  nowMs: number,
  providerMessageId: string | null = null,
): DeliveryOutcome {
  const { status, headers } = answer;
  if (status >= 200 && status < 300) return sent(providerMessageId);
  const error = `HTTP ${status}${snippet(answer.text)}`;
  if (status === 408 || status === 429 || status >= 500) return transient(error, retryAfterMs(headers, nowMs));
  if (status >= 300 && status < 400) return permanent(`${error} (redirect to ${headers.get('location') ?? 'nowhere'} not followed)`);
  return permanent(error);
}

/** A short, printable excerpt of an answer for the attempt log. */
export function snippet(text: string, max = 200): string {
  const clean = text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ').trim();
  if (!clean) return '';
  return `: ${clean.length > max ? `${clean.slice(0, max)}…` : clean}`;
}

/** Refuses, before any I/O, a destination that is not an http(s) URL: no attempt could ever succeed. */
export function httpUrlProblem(destination: string): string | null {
  let url: URL;
  try {
    url = new URL(destination);
  } catch {
    return 'the destination is not a URL';
  }
  return url.protocol === 'https:' || url.protocol === 'http:' ? null : `the destination's scheme ${url.protocol} is not http(s)`;
}
