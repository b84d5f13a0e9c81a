/**
 * When a notification is tried again (issue 11): 5 attempts in all, on transient
 * failures only; between them an exponential backoff from 2 s with full jitter (a
 * random wait between 0 and 2 s x 2^(n-1), so a provider's outage does not bring every
 * retry back at the same instant), capped at 5 minutes, and never before the
 * provider's Retry-After. Pure: the randomness is passed in.
 */

export const MAX_ATTEMPTS = 5;
export const BACKOFF_BASE_MS = 2_000;
export const BACKOFF_CAP_MS = 5 * 60_000;

/**
 * How long to wait before the attempt after attempt number `attempt` (1-based), or null
 * when the attempts are spent. `random` is in [0, 1).
 */
export function retryDelayMs(attempt: number, random: number, retryAfterMs?: number): number | null {
  if (attempt >= MAX_ATTEMPTS) return null;
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  const jittered = Math.floor(random * ceiling);
  return Math.min(BACKOFF_CAP_MS, Math.max(jittered, retryAfterMs ?? 0));
}
