/**
 * Every Redis key name, built in one place. The prefix lets several deployments (or
 * test files) share one Redis; for Redis Cluster give it a hash tag such as
 * `{klaxon}:` so that all the keys a script touches share one slot.
 */
export interface RedisKeys {
  /** Sorted set of PENDING escalations: member = escalation id, score = due time (epoch ms). */
  readonly pending: string;
  /** Sorted set of claimed escalations: member = escalation id, score = lease deadline (epoch ms). */
  readonly inflight: string;
  /**
   * Present while the index is complete; a reconciliation sets it, a FLUSHALL or an
   * empty restart loses it, and a process that owed the index too many updates
   * deletes it (src/engine/index/pending.ts).
   */
  readonly indexMarker: string;
  /** Held by the worker that is rebuilding the index, so several do not rebuild at once. */
  readonly reconcileLock: string;
  /** Pub/sub channel: "an escalation due at <score> was just added", to wake sleeping workers. */
  readonly wakeChannel: string;
  /**
   * Prefix of the rate-limit buckets, one key per subject: build them with
   * rateLimitKey(). Not a key itself, but a string rather than a function, so that
   * code walking the members (scripts/bench.ts deletes Object.values(keys)) sees strings.
   */
  readonly rateLimitPrefix: string;
}

export function redisKeys(prefix = ''): RedisKeys {
  return {
    pending: `${prefix}escalations:pending`,
    inflight: `${prefix}escalations:inflight`,
    indexMarker: `${prefix}escalations:index-complete`,
    reconcileLock: `${prefix}escalations:reconcile-lock`,
    wakeChannel: `${prefix}escalations:wake`,
    rateLimitPrefix: `${prefix}ratelimit:`,
  };
}

/** A subject's rate-limit bucket (its GCRA theoretical arrival time, with a PX expiry); subject is e.g. `token:<id>`. */
export function rateLimitKey(keys: RedisKeys, subject: string): string {
  return `${keys.rateLimitPrefix}${subject}`;
}
