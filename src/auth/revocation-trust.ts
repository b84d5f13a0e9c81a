/**
 * When a credential looked up in Postgres may be trusted from memory without another
 * lookup: API tokens (./authenticate.ts) and integration keys (./integration-keys.ts)
 * share the rule. Only while this process hears revocations (./revocations.ts: every
 * revocation made through klaxon is announced with NOTIFY when it commits), and for at
 * most `freshMs` after the lookup started, so a revocation nobody announced (an UPDATE
 * by hand) or one announced while the listener was reconnecting is noticed within
 * `freshMs`. A lookup that overlapped a revocation heard is not trusted at all (the
 * revocation may be of what it read).
 */

/** The default: how long a lookup is trusted, at most, while revocations are heard. */
export const FRESH_MS = 5_000;

export interface RevocationTrustOptions {
  /** Monotonic milliseconds (default performance.now; tests inject one). */
  monotonicNow?: () => number;
  freshMs?: number;
}

/** Taken when a lookup starts; settled when it ends. */
export interface LookupStamp {
  readonly checkedAt: number;
  readonly revocations: number;
}

export class RevocationTrust {
  private readonly monotonicNow: () => number;
  private readonly freshMs: number;
  /** Since when (monotonic) every revocation is heard; undefined: not now, so nothing is trusted without a lookup. */
  private heardSince: number | undefined;
  /** Revocations heard or made here so far. */
  private revocations = 0;

  constructor(options: RevocationTrustOptions = {}) {
    this.monotonicNow = options.monotonicNow ?? (() => performance.now());
    this.freshMs = options.freshMs ?? FRESH_MS;
  }

  /** Call as a lookup starts. */
  lookupStarts(): LookupStamp {
    return { checkedAt: this.monotonicNow(), revocations: this.revocations };
  }

  /** When the lookup may count from, as it ends; null: a revocation was heard meanwhile, not to be trusted. */
  lookupEnded(stamp: LookupStamp): number | null {
    return this.revocations === stamp.revocations ? stamp.checkedAt : null;
  }

  /** Whether a lookup that counts from `checkedAt` (null: never) may be trusted now without another. */
  isFresh(checkedAt: number | null): boolean {
    if (checkedAt === null || this.heardSince === undefined || checkedAt < this.heardSince) return false;
    return this.monotonicNow() - checkedAt <= this.freshMs;
  }

  /**
   * Whether a lookup still fresh is past half its trust: the caller looks it up again
   * in the background (one lookup at a time, src/domain/single-flight.ts) and goes on
   * with it meanwhile, so a credential in steady use never makes a request wait for its
   * lookup. The bound holds: nothing is trusted past `freshMs` after its lookup started.
   */
  isAging(checkedAt: number | null): boolean {
    return checkedAt !== null && this.monotonicNow() - checkedAt > this.freshMs / 2;
  }

  /**
   * Whether every revocation is heard from now on (a listener is connected: true), or
   * may be missed (false). Trust starts with lookups made after the listener connected:
   * a revocation announced while it was away was not heard.
   */
  revocationsHeard(heard: boolean): void {
    this.heardSince = heard ? this.monotonicNow() : undefined;
  }

  /** A revocation was heard or made here: lookups in flight are not trusted. */
  revoked(): void {
    this.revocations += 1;
  }
}

/** Sets a key as the newest of a map bounded to `max` entries (insertion order is age order: the oldest go first). */
export function rememberBounded<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as string);
}
