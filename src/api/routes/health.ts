/**
 * /healthz: the process is alive (no I/O, so a slow database never gets a healthy
 * process killed). /readyz: Postgres and Redis both answer; 503 names what is down.
 */
import { Router } from '@koa/router';
import type pg from 'pg';
import type { RedisClient } from '../../redis/client.ts';
import { withDeadline } from '../../clock/deadline.ts';
import { HttpProblem } from '../problem.ts';

const CHECK_TIMEOUT_MS = 1_000;

export interface HealthDeps {
  pool: pg.Pool;
  redis: RedisClient;
}

type CheckResult = 'up' | 'down';

async function check(probe: () => Promise<unknown>): Promise<CheckResult> {
  try {
    await withDeadline(probe(), CHECK_TIMEOUT_MS);
    return 'up';
  } catch {
    return 'down';
  }
}

export function healthRoutes(deps: HealthDeps): Router {
  const router = new Router();

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    const [postgres, redis] = await Promise.all([
      check(() => deps.pool.query('SELECT 1')),
      check(() => deps.redis.ping()),
    ]);
    const checks = { postgres, redis };
    const down = Object.entries(checks).filter(([, state]) => state === 'down').map(([name]) => name);
    if (down.length > 0) {
      throw new HttpProblem(503, 'not_ready', 'Not ready', `${down.join(' and ')} ${down.length > 1 ? 'are' : 'is'} down`, {
        checks,
        down,
      });
    }
    ctx.body = { status: 'ready', checks };
  });

  return router;
}
