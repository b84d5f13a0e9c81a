/**
 * Whether Postgres and Redis answer, for GET /readyz. The answer is kept for a second
 * and concurrent checks share one probe, so a load balancer (or anyone) polling it
 * costs at most one database round trip a second per API process.
 */
import type pg from 'pg';
import { withDeadline } from '../clock/deadline.ts';
import { type RedisClient, redisCall } from '../redis/client.ts';

/** How long a probe may take before its dependency counts as down. */
const CHECK_TIMEOUT_MS = 1_000;
/** How long an answer is reused. */
export const READINESS_CACHE_MS = 1_000;

export type CheckResult = 'up' | 'down';
export interface ReadinessChecks {
  postgres: CheckResult;
  redis: CheckResult;
}

async function probe(check: () => Promise<unknown>): Promise<CheckResult> {
  try {
    await withDeadline(check(), CHECK_TIMEOUT_MS);
    return 'up';
  } catch {
    return 'down';
  }
}

export class Readiness {
  private last: { at: number; checks: Promise<ReadinessChecks> } | undefined;

  constructor(
    private readonly deps: { pool: pg.Pool; redis: RedisClient },
    private readonly now: () => number = () => performance.now(),
  ) {}

  check(): Promise<ReadinessChecks> {
    const now = this.now();
    if (this.last && now - this.last.at < READINESS_CACHE_MS) return this.last.checks;
    const checks = Promise.all([probe(() => this.deps.pool.query('SELECT 1')), probe(() => redisCall(this.deps.redis, (redis) => redis.ping()))]).then(
      ([postgres, redis]) => ({ postgres, redis }),
    );
    this.last = { at: now, checks };
    return checks;
  }
}
