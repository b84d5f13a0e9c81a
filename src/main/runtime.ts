/**
 * The connections every long-running process needs: a Postgres pool, a Redis
 * client (connecting in the background: a process must come up while Redis is
 * down), and the clock corrected against Postgres (waited for: without Postgres
 * nothing can be decided).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { PostgresClock } from '../clock/postgres-clock.ts';
import { type Config, redactUrl } from '../config/config.ts';
import { PlanFreshness } from '../db/plan-freshness.ts';
import { createPool, warmPool } from '../db/pool.ts';
import type { Logger } from '../log/logger.ts';
import { type RedisClient, closeRedis, connectInBackground, createRedis } from '../redis/client.ts';
import { type RedisKeys, redisKeys } from '../redis/keys.ts';

export interface Runtime {
  pool: pg.Pool;
  redis: RedisClient;
  keys: RedisKeys;
  clock: PostgresClock;
  close(): Promise<void>;
}

export async function startRuntime(config: Config, logger: Logger, name: string, poolSize = 10): Promise<Runtime> {
  logger.info('starting', {
    database: redactUrl(config.databaseUrl),
    database_role: config.database.role || '(the login role)',
    redis: redactUrl(config.redisUrl),
    escalation_level_delays_ms: config.escalation.levelDelaysMs,
  });
  const pool = createPool({
    databaseUrl: config.databaseUrl,
    applicationName: `klaxon-${name}`,
    role: config.database.role,
    max: poolSize,
    logger,
  });
  const plans = new PlanFreshness(pool, logger);
  const redis = createRedis({ url: config.redisUrl, commandTimeoutMs: config.redis.commandTimeoutMs, logger, name: `klaxon-${name}` });
  connectInBackground(redis, logger);

  const clock = new PostgresClock(pool, logger, config.clock.syncIntervalMs);
  for (let attempt = 1; ; attempt += 1) {
    try {
      const sample = await clock.start();
      logger.info('clock synchronised with Postgres', {
        offset_ms: Math.round(sample.offsetMs * 100) / 100,
        round_trip_ms: Math.round(sample.roundTripMs * 100) / 100,
      });
      break;
    } catch (error) {
      logger.warn('waiting for Postgres', { attempt, error });
      await sleep(Math.min(500 * attempt, 5_000));
    }
  }

  // The sizes the warm-ups' plans are made with; plans follow the tables' growth from there.
  await plans.start();
  await warmPool(pool, poolSize, logger);
  return {
    pool,
    redis,
    keys: redisKeys(config.redis.keyPrefix),
    clock,
    async close() {
      clock.stop();
      plans.stop();
      await closeRedis(redis);
      await pool.end();
    },
  };
}
