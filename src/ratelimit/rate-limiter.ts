/**
 * Rate limiting per subject (an API token, an integration key), GitHub issue: "429
 * with Retry-After, still working when Redis is down".
 *
 * The algorithm is GCRA, the generic cell rate algorithm: a token bucket of `burst`
 * requests refilled at `ratePerMinute`, stored as one number per subject, its
 * theoretical arrival time (TAT). A request is allowed when moving the TAT one
 * emission interval on keeps it within `burst` intervals of now. One number means one
 * atomic read-modify-write in Redis (src/redis/scripts/rateLimit-1.lua) and a small
 * map in memory.
 *
 * The buckets live in Redis, shared by every API process. When Redis fails (down, or
 * slower than the command timeout) the limiter falls back to the same algorithm in
 * process memory, so limits still hold during an outage, per process: with N API
 * processes a subject may then get up to N times its limit. It logs the change of
 * mode once each way and never throws because Redis is down.
 */
import type { Logger } from '../log/logger.ts';
import type { RedisClient } from '../redis/client.ts';
import { type RedisKeys, rateLimitKey } from '../redis/keys.ts';
import { runScript, scripts } from '../redis/scripts.ts';

export interface RateLimitPolicy {
  /** Sustained rate: the bucket refills one request every 60000 / ratePerMinute ms. */
  ratePerMinute: number;
  /** Capacity of the bucket: requests allowed at once after a quiet spell. */
  burst: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** The bucket's capacity (the burst). */
  limit: number;
  /** Requests still allowed right now, after this one. */
  remaining: number;
  /** When refused, how long until one request fits again; 0 when allowed. */
  retryAfterMs: number;
  /** How long until the bucket is full again. */
  resetMs: number;
}

export interface RateLimiter {
  /**
   * One request from `subject`'s bucket, by the limiter's policy, or by `policy` when
   * the subject has its own (an integration key's rate_per_minute and rate_burst). A
   * subject should keep one policy: its bucket is read by whichever it is given.
   */
  take(subject: string, policy?: RateLimitPolicy): Promise<RateLimitDecision>;
  /** Where the last decision was made: the shared buckets in Redis, or this process' memory. */
  readonly mode: 'redis' | 'memory';
  readonly policy: RateLimitPolicy;
}

/** The in-memory limiter also says how many subjects it remembers (bounded by maxSubjects). */
export interface MemoryRateLimiter extends RateLimiter {
  readonly mode: 'memory';
  readonly size: number;
}

/** Subjects remembered in memory by default: ~1 MB at most, far more than active tokens. */
export const DEFAULT_MAX_SUBJECTS = 10_000;
/** After a Redis failure, Redis is tried again (by one request at a time) this often at most. */
export const DEFAULT_REDIS_RECHECK_MS = 1_000;

export function emissionIntervalMs(policy: RateLimitPolicy): number {
  return 60_000 / policy.ratePerMinute;
}

/**
 * One GCRA step, pure: the decision for a request at `now` given the subject's stored
 * TAT (undefined: never seen, or forgotten), and the TAT to store (unchanged when
 * refused). The Lua script does the same arithmetic; keep them in step.
 */
export function gcra(storedTat: number | undefined, now: number, policy: RateLimitPolicy): { decision: RateLimitDecision; tat: number } {
  const interval = emissionIntervalMs(policy);
  const capacity = policy.burst * interval;
  const tat = Math.max(storedTat ?? now, now);
  const newTat = tat + interval;
  const allowAt = newTat - capacity;
  if (allowAt > now) {
    return {
      decision: { allowed: false, limit: policy.burst, remaining: 0, retryAfterMs: Math.ceil(allowAt - now), resetMs: Math.ceil(tat - now) },
      tat,
    };
  }
  // The small addend absorbs float error when the interval is not a whole number of ms.
  const remaining = Math.floor((now + capacity - newTat) / interval + 1e-9);
  return {
    decision: { allowed: true, limit: policy.burst, remaining, retryAfterMs: 0, resetMs: Math.ceil(newTat - now) },
    tat: newTat,
  };
}

export interface MemoryLimiterOptions {
  policy: RateLimitPolicy;
  now?: () => number;
  /** The most subjects remembered; beyond it the least recently seen is forgotten. */
  maxSubjects?: number;
}

/**
 * GCRA in this process' memory. The map is kept in least-recently-seen order (a take
 * re-inserts its subject at the end), so memory stays bounded under a flood of
 * subjects: subjects whose bucket is full again are dropped from the front as they
 * are met, and past maxSubjects the least recently seen one is dropped even if its
 * bucket is not full (it gets a fresh bucket if it comes back: the price of the bound).
 */
export function createMemoryRateLimiter({ policy, now = Date.now, maxSubjects = DEFAULT_MAX_SUBJECTS }: MemoryLimiterOptions): MemoryRateLimiter & {
  clear(): void;
} {
  validatePolicy(policy);
  if (!Number.isInteger(maxSubjects) || maxSubjects < 1) throw new RangeError('maxSubjects must be a whole number above 0');
  const tats = new Map<string, number>();

  const takeNow = (subject: string, own: RateLimitPolicy): RateLimitDecision => {
    const at = now();
    const { decision, tat } = gcra(tats.get(subject), at, own);
    tats.delete(subject);
    tats.set(subject, tat);
    for (const [oldest, oldestTat] of tats) {
      if (tats.size > maxSubjects || oldestTat <= at) tats.delete(oldest);
      else break;
    }
    return decision;
  };

  return {
    mode: 'memory',
    policy,
    get size() {
      return tats.size;
    },
    take: (subject, own) => Promise.resolve(takeNow(subject, own === undefined ? policy : checkedPolicy(own))),
    clear: () => tats.clear(),
  };
}

export interface RateLimiterOptions {
  redis: RedisClient;
  keys: RedisKeys;
  policy: RateLimitPolicy;
  logger: Logger;
  /** The clock of the in-memory fallback (ms since the epoch); Redis uses its own TIME. */
  now?: () => number;
  maxSubjects?: number;
  /** After a failure, how long to stay in memory before one request tries Redis again. */
  redisRecheckMs?: number;
}

export function createRateLimiter({
  redis,
  keys,
  policy,
  logger,
  now = Date.now,
  maxSubjects,
  redisRecheckMs = DEFAULT_REDIS_RECHECK_MS,
}: RateLimiterOptions): RateLimiter {
  const memory = createMemoryRateLimiter({ policy, now, maxSubjects });
  let mode: 'redis' | 'memory' = 'redis';
  // In memory mode: when Redis may be tried again, and whether a request is trying it.
  let recheckAt = 0;
  let probing = false;

  const toMemory = (reason: string, error?: unknown) => {
    if (mode === 'memory') return;
    mode = 'memory';
    logger.warn('rate limiting falls back to per-process memory until Redis answers again', { reason, ...(error ? { error } : {}) });
  };
  const toRedis = () => {
    if (mode === 'redis') return;
    mode = 'redis';
    // Buckets from the outage would only hold memory until the next one.
    memory.clear();
    logger.info('rate limiting is shared through Redis again');
  };

  const takeFromRedis = async (subject: string, own: RateLimitPolicy): Promise<RateLimitDecision> => {
    // runScript waits at most the client's command timeout, also for a Redis that stopped
    // answering (src/redis/call-deadline.ts). The command cannot be taken back: if Redis
    // answers after the deadline, that request is counted in its shared bucket too.
    const reply = await runScript(redis, scripts.rateLimit, [rateLimitKey(keys, subject)], [String(emissionIntervalMs(own)), String(own.burst)]);
    return parseReply(reply, own.burst);
  };

  return {
    policy,
    get mode() {
      return mode;
    },
    async take(subject, given) {
      const own = given === undefined ? policy : checkedPolicy(given);
      // A client that is not connected fails at once anyway (no offline queue): do not
      // even try. When it reconnects, the next request goes back to Redis.
      if (!redis.isReady) {
        toMemory('the Redis client is not connected');
        return memory.take(subject, own);
      }
      // After a failure (a timeout costs a request the whole command timeout), one
      // request at a time tries Redis again, at most every redisRecheckMs.
      const probe = mode === 'memory';
      if (probe && (probing || now() < recheckAt)) return memory.take(subject, own);
      if (probe) probing = true;
      try {
        const decision = await takeFromRedis(subject, own);
        toRedis();
        return decision;
      } catch (error) {
        recheckAt = now() + redisRecheckMs;
        toMemory('a Redis call failed', error);
        return memory.take(subject, own);
      } finally {
        if (probe) probing = false;
      }
    },
  };
}

/** A policy given with one take: checked like the limiter's own (a bad one is a bug, not a request to refuse). */
function checkedPolicy(policy: RateLimitPolicy): RateLimitPolicy {
  validatePolicy(policy);
  return policy;
}

function validatePolicy(policy: RateLimitPolicy): void {
  for (const [name, value] of Object.entries(policy)) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new RangeError(`rate limit ${name} must be a whole number above 0, not ${String(value)}`);
    }
  }
}

function parseReply(reply: unknown, limit: number): RateLimitDecision {
  if (!Array.isArray(reply) || reply.length !== 4 || !reply.every((n) => typeof n === 'number')) {
    throw new Error(`unexpected reply from the rateLimit script: ${JSON.stringify(reply)}`);
  }
  const [allowed, remaining, retryAfterMs, resetMs] = reply as [number, number, number, number];
  return { allowed: allowed === 1, limit, remaining, retryAfterMs, resetMs };
}
