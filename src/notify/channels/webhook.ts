/**
 * Webhook: a signed JSON POST to the URL of the contact method.
 *
 * Delivery guarantee: at least once, recognisably once. "Sent" means the receiver
 * answered 2xx. 5xx, 408, 429, network errors and timeouts (5 s) are transient and
 * retried, not before Retry-After (seconds or an HTTP date, capped at 5 minutes); any
 * other answer is permanent. Every attempt of one notification carries the same
 * `Idempotency-Key`, so a receiver that keeps the keys it saw turns the re-send after a
 * timeout or a crash into a no-op; one that does not may see it twice.
 *
 * Signature (`Klaxon-Signature: t=<unix seconds>,v1=<hex>`): HMAC-SHA256 over
 * `${t}.${body}` with the contact method's secret, like Stripe's scheme. With several
 * secrets (rotation), one v1 per secret, the newest first: a receiver that still knows only
 * the old secret and one that already has the new one both verify. `t` is the time of the
 * attempt, so a receiver may refuse stale replays with a tolerance window.
 */
import { createHmac } from 'node:crypto';
import type { Clock } from '../../clock/clock.ts';
import { type Channel, type Delivery, type DeliveryOutcome, type WebhookMessage, permanent } from './channel.ts';
import { classifyStatus, httpUrlProblem, post } from './http.ts';
import { type SignatureCheck, anyEqual, asList } from './signature.ts';

export const SIGNATURE_HEADER = 'Klaxon-Signature';

export interface WebhookChannelOptions {
  /** Secrets of the contact method, newest first (usually one). */
  secrets: readonly string[];
  clock: Clock;
  /** Default 5 s (issue 11). */
  timeoutMs?: number;
  userAgent?: string;
}

export function createWebhookChannel(options: WebhookChannelOptions): Channel<'webhook'> {
  const { secrets, clock, timeoutMs = 5_000, userAgent = 'klaxon' } = options;
  if (secrets.length === 0) throw new Error('a webhook channel needs at least one signing secret');
  return {
    kind: 'webhook',
    async send(delivery: Delivery<WebhookMessage>, signal: AbortSignal): Promise<DeliveryOutcome> {
      const problem = httpUrlProblem(delivery.destination);
      if (problem) return permanent(problem);
      const body = JSON.stringify(delivery.message.body);
      const nowMs = clock.now().getTime();
      const headers = {
        'content-type': 'application/json',
        'user-agent': userAgent,
        'idempotency-key': delivery.idempotencyKey,
        [SIGNATURE_HEADER.toLowerCase()]: signWebhook(secrets, body, nowMs),
      };
      const result = await post(delivery.destination, { headers, body }, { timeoutMs, signal });
      if (!result.answered) return result.outcome;
      return classifyStatus(result, clock.now().getTime());
    },
  };
}

/** The Klaxon-Signature header value for `body` at `nowMs`, one v1 per secret. */
export function signWebhook(secrets: readonly string[], body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  return [`t=${t}`, ...secrets.map((secret) => `v1=${hmacHex(secret, `${t}.${body}`)}`)].join(',');
}

function hmacHex(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data, 'utf8').digest('hex');
}

/**
 * For receivers (and our tests): whether `header` signs `rawBody` with one of `secrets`
 * at a time within `toleranceMs` (default 5 minutes) of `nowMs`. `rawBody` must be the
 * bytes received, before any JSON parsing. Constant-time comparison.
 */
export function verifyWebhookSignature(
  secrets: string | readonly string[],
  header: string | null | undefined,
  rawBody: string,
  { nowMs, toleranceMs = 5 * 60_000 }: { nowMs: number; toleranceMs?: number },
): SignatureCheck {
  if (!header) return { ok: false, reason: 'missing' };
  let t: string | undefined;
  const given: string[] = [];
  for (const part of header.split(',')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === 't') t = value;
    else if (name === 'v1' && value) given.push(value);
  }
  if (t === undefined || !/^\d{1,12}$/.test(t) || given.length === 0) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowMs - Number(t) * 1000) > toleranceMs) return { ok: false, reason: 'stale' };
  const expected = asList(secrets).map((secret) => hmacHex(secret, `${t}.${rawBody}`));
  const matched = anyEqual(given, expected);
  return matched ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
