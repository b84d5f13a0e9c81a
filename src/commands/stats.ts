/**
 * The figures GET /stats and `klaxon stats` report, read once here for both: the
 * PENDING, overdue and quarantined escalations from Postgres (the truth), and what the
 * Redis index holds when Redis answers within its deadline. Redis being down is not an
 * error here: the index is null and `indexProblem` says why; the Postgres figures stand.
 */
import type pg from 'pg';
import type { Clock } from '../clock/clock.ts';
import { type EscalationStats, readEscalationStats } from '../db/escalation-stats.ts';
import { type NotificationStats, readNotificationStats } from '../db/notification-stats.ts';
import { type IndexStats, readIndexStats } from '../engine/index/stats.ts';
import type { RedisClient } from '../redis/client.ts';
import type { RedisKeys } from '../redis/keys.ts';

export interface Stats {
  at: Date;
  escalations: EscalationStats;
  /** The outbox (issue 11): pending, the oldest due, sent/failed/skipped by channel. */
  notifications: NotificationStats;
  /** Null when Redis is not configured or did not answer. */
  index: IndexStats | null;
  /** Why `index` is null, in words (null when it is not). */
  indexProblem: string | null;
}

export interface StatsSources {
  pool: pg.Pool;
  clock: Clock;
  /** Null: no Redis configured (the CLI without REDIS_URL); `redisProblem` says so. */
  redis: RedisClient | null;
  keys: RedisKeys;
  redisProblem?: string | null;
}

export async function readStats({ pool, clock, redis, keys, redisProblem = null }: StatsSources): Promise<Stats> {
  const at = clock.now();
  const [escalations, notifications] = await Promise.all([readEscalationStats(pool, at), readNotificationStats(pool, at)]);
  if (!redis) return { at, escalations, notifications, index: null, indexProblem: redisProblem ?? 'Redis unavailable' };
  try {
    return { at, escalations, notifications, index: await readIndexStats(redis, keys), indexProblem: null };
  } catch (error) {
    return { at, escalations, notifications, index: null, indexProblem: `Redis failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}
