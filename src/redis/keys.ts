/**
 * Every Redis key name, built in one place. The prefix lets several deployments (or
 * test files) share one Redis; for Redis Cluster give it a hash tag such as
 * `{klaxon}:` so that the keys a script touches share one slot.
 */
export interface RedisKeys {
  /** Sorted set of PENDING escalations: member = escalation id, score = due time (epoch ms). */
  readonly pending: string;
}

export function redisKeys(prefix = ''): RedisKeys {
  return {
    pending: `${prefix}escalations:pending`,
  };
}
