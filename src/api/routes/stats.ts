/**
 * GET /stats: what an operator checks first at 3 a.m. How many escalations are
 * pending, how many are overdue (due but not executed) and since when, from
 * Postgres; how many the Redis index holds and how many are claimed right now.
 * The Redis half is null when Redis is down; the call still answers.
 */
import { Router } from '@koa/router';
import type pg from 'pg';
import type { Clock } from '../../clock/clock.ts';
import { presentStats, readEscalationStats } from '../../db/escalation-stats.ts';
import { readIndexStats } from '../../redis/index-stats.ts';
import type { RedisClient } from '../../redis/client.ts';
import type { RedisKeys } from '../../redis/keys.ts';

export interface StatsDeps {
  pool: pg.Pool;
  redis: RedisClient;
  keys: RedisKeys;
  clock: Clock;
}

export function statsRoutes(deps: StatsDeps): Router {
  const router = new Router();
  router.get('/stats', async (ctx) => {
    const now = deps.clock.now();
    const escalations = await readEscalationStats(deps.pool, now);
    // Redis down: null (/readyz says so); the Postgres figures still stand.
    const index = await readIndexStats(deps.redis, deps.keys).catch(() => null);
    ctx.body = presentStats(now, escalations, index);
  });
  return router;
}
