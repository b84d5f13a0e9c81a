/** What the verifiers of inbound requests (Slack, Twilio, our webhooks) share. */
import { timingSafeEqual } from 'node:crypto';

/** Why a signed request is refused: the endpoint logs the reason and answers 401 (or 403) alike. */
export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'bad_signature' };

/**
 * Whether any of `given` equals any of `expected`. Every pair is compared in constant
 * time, whatever matched first, so the time taken tells nothing about which secret, or
 * how much of a forged signature, was right.
 */
export function anyEqual(given: readonly string[], expected: readonly string[]): boolean {
  let matched = false;
  for (const candidate of given.map((value) => Buffer.from(value))) {
    for (const wanted of expected.map((value) => Buffer.from(value))) {
      if (candidate.length === wanted.length && timingSafeEqual(candidate, wanted)) matched = true;
    }
  }
  return matched;
}

export const asList = (value: string | readonly string[]): readonly string[] => (typeof value === 'string' ? [value] : value);
