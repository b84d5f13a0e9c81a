/**
 * The API process: `npm run api`. Starts even when Redis is down (Postgres holds the
 * truth); waits for Postgres, which it cannot work without.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp, createHttpServer } from '../api/app.ts';
import { PostgresClock } from '../clock/postgres-clock.ts';
import { redactUrl } from '../config/config.ts';
import { createPool } from '../db/pool.ts';
import { closeRedis, connectInBackground, createRedis } from '../redis/client.ts';
import { redisKeys } from '../redis/keys.ts';
import { PendingIndex } from '../redis/pending-index.ts';
import { bootstrap, onShutdown } from './bootstrap.ts';

const { config, logger } = bootstrap('api');
logger.info('starting', {
  database: redactUrl(config.databaseUrl),
  redis: redactUrl(config.redisUrl),
  escalation_level_delays_ms: config.escalation.levelDelaysMs,
});

const pool = createPool({ databaseUrl: config.databaseUrl, applicationName: 'klaxon-api', logger });
const redis = createRedis({ url: config.redisUrl, commandTimeoutMs: config.redis.commandTimeoutMs, logger, name: 'klaxon-api' });
connectInBackground(redis, logger);

const clock = new PostgresClock(pool, logger, config.clock.syncIntervalMs);
for (let attempt = 1; ; attempt += 1) {
  try {
    const sample = await clock.start();
    logger.info('clock synchronised with Postgres', sample);
    break;
  } catch (error) {
    logger.warn('waiting for Postgres', { attempt, error });
    await sleep(Math.min(500 * attempt, 5_000));
  }
}

const app = createApp({
  pool,
  redis,
  pendingIndex: new PendingIndex(redis, redisKeys(config.redis.keyPrefix), logger),
  clock,
  timetable: { levelDelaysMs: config.escalation.levelDelaysMs },
  logger,
  bodyLimitBytes: config.http.bodyLimitBytes,
});

const server = createHttpServer(app);
// Slow-loris protection: a client gets 10 s to send its headers, 30 s for the whole request.
server.headersTimeout = 10_000;
server.requestTimeout = 30_000;
server.listen(config.http.port, config.http.host, () => {
  logger.info('listening', { url: `http://${config.http.host}:${config.http.port}` });
});

onShutdown(logger, async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  clock.stop();
  await closeRedis(redis);
  await pool.end();
});
