/**
 * GET /stats: what an operator checks first at 3 a.m. How many escalations are
 * pending, how many are overdue (due but not executed) and since when, from
 * Postgres; how many the Redis index holds and how many are claimed right now.
 * The Redis half is null when Redis is down; the call still answers.
 */
import { Router } from '@koa/router';
import type pg from 'pg';
import type { Clock } from '../../clock/clock.ts';
import { readEscalationStats } from '../../db/escalation-stats.ts';
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
    let index: { pending: number; in_flight: number; complete: boolean } | null;
    try {
      const [pending, inFlight, complete] = await Promise.all([
        deps.redis.zCard(deps.keys.pending),
        deps.redis.zCard(deps.keys.inflight),
        deps.redis.exists(deps.keys.indexMarker),
      ]);
      index = { pending, in_flight: inFlight, complete: complete === 1 };
    } catch {
      index = null; // Redis down: /readyz says so; the Postgres figures still stand
    }
    ctx.body = {
      at: now.toISOString(),
      escalations: {
        pending: escalations.pending,
        overdue: escalations.overdue,
        oldest_overdue_age_ms: escalations.oldestOverdueAgeMs,
      },
      index,
    };
  });
  return router;
}
