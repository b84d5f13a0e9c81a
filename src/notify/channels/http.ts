/**
 * What the HTTP channels (webhook, Teams, Slack, Twilio) share: one POST bounded by a
 * timeout and the caller's signal, no redirects, a capped read of the answer, and the
 * reading of Retry-After. Node's global fetch (undici); no client library.
 */
import { type DeliveryOutcome, permanent, sent, transient } from './channel.ts';

/** What came back, or why nothing did (already classified: always transient). */
export type HttpResult = { answered: true; status: number; headers: Headers; text: string } | { answered: false; outcome: DeliveryOutcome };

export interface PostOptions {
  timeoutMs: number;
  signal: AbortSignal;
  /** The most of the answer we read: enough for an error message or a provider id, never a hostile stream. */
  maxAnswerBytes?: number;
}

/**
 * POSTs and reads the answer. Redirects are not followed: undici would turn a POST
 * answered with 301/302 into a GET without the body, so a moved endpoint is an error
 * the owner of the contact method must fix (the caller classifies the 3xx).
 */
export async function post(url: string, init: { headers: Record<string, string>; body: string }, options: PostOptions): Promise<HttpResult> {
  const { timeoutMs, signal, maxAnswerBytes = 64 * 1024 } = options;
  // One controller per request, fed by our timer and the caller's signal, both detached in
  // `finally`. Not AbortSignal.any: its composites pile up on a long-lived source (the
  // notifier's shutdown signal) for the life of the process (nodejs/node#55351, #64476).
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = () => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    const response = await fetch(url, { method: 'POST', headers: init.headers, body: init.body, redirect: 'manual', signal: controller.signal });
    const text = await readCapped(response, maxAnswerBytes);
    return { answered: true, status: response.status, headers: response.headers, text };
  } catch (error) {
    // After a timeout the request may have arrived and been acted on: the retry carries
    // the same idempotency key, which is what keeps it from being a second page.
    if (timedOut) return { answered: false, outcome: transient(`timed out after ${timeoutMs} ms`) };
    if (signal.aborted) return { answered: false, outcome: transient(`aborted: ${describe(signal.reason)}`) };
    return { answered: false, outcome: transient(`network: ${describe(error)}`) };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** The text of at most `maxBytes` of the body; the rest is cancelled so the socket is freed. */
async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= maxBytes) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

/** fetch wraps socket errors in a TypeError whose `cause` says what happened (ECONNREFUSED, ...). */
function describe(error: unknown): string {
  if (error instanceof Error) {
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
export function retryAfterMs(headers: Headers, nowMs: number, capMs = RETRY_AFTER_CAP_MS): number | undefined {
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
  answer: { status: number; headers: Headers; text: string },
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
