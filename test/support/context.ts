/**
 * Everything one test file needs, isolated from the others: its own database, a
 * random Redis key prefix, a ManualClock, a logger whose lines the test can read,
 * and the app listening on an ephemeral port.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import type pg from 'pg';
import winston from 'winston';
import { createApp, createHttpServer } from '../../src/api/app.ts';
import { type AppDeps, createApiDeps } from '../../src/api/deps.ts';
import { ManualClock } from '../../src/clock/clock.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createToken } from '../../src/commands/tokens.ts';
import { createPool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import type { RateLimitPolicy } from '../../src/ratelimit/rate-limiter.ts';
import { type RedisClient, closeRedis, createRedis } from '../../src/redis/client.ts';
import { type RedisKeys, redisKeys } from '../../src/redis/keys.ts';
import { PendingIndex } from '../../src/engine/index/pending.ts';
import { createTestDatabase } from './databases.ts';
import { type Api, apiClient } from './http.ts';
import { track } from './leaks.ts';

export const TEST_LEVEL_DELAYS_MS = [5 * 60_000, 15 * 60_000, 60 * 60_000];

/** The API's default keep-alive timeout (config/default.json): the tests' servers hold connections as deployed ones do. */
export const KEEP_ALIVE_TIMEOUT_MS = loadConfig({ DATABASE_URL: 'postgres://unused', REDIS_URL: 'redis://unused' }).http.keepAliveTimeoutMs;
/** The role the application acts as (config database.role's default; the application-role migration). */
export const APP_ROLE = 'klaxon_app';

export interface TestContext {
  /** The test file's own database, for processes the test spawns. */
  databaseUrl: string;
  redisUrl: string;
  keyPrefix: string;
  /** Acts as APP_ROLE, as the API and the workers do: what it may do, they may. */
  pool: pg.Pool;
  /**
   * Acts as the login (the schema's owner, a superuser here): only for what the
   * application may not do, such as proving that a trigger refuses it too.
   */
  ownerPool: pg.Pool;
  redis: RedisClient;
  keys: RedisKeys;
  clock: ManualClock;
  logs: Record<string, unknown>[];
  deps: AppDeps;
  /** Called with an organisation-wide admin token (`api.as(...)` for another token). */
  api: Api;
  adminToken: string;
  close(): Promise<void>;
}

export interface ContextOptions {
  /** Another Redis than the shared test one (tests that stop Redis use a private one). */
  redisUrl?: string;
  /** Do not wait for Redis to be ready (it is meant to be down). */
  redisMayBeDown?: boolean;
  levelDelaysMs?: number[];
  bodyLimitBytes?: number;
  /** Default: so generous that no test but the rate-limit ones meets it. */
  rateLimit?: RateLimitPolicy;
  /** Per client address, for requests without a valid token; default as generous. */
  addressRateLimit?: RateLimitPolicy;
  /** Per integration key without its own rate; default as in production (120 a minute, bursts of 240). */
  intakeRateLimit?: RateLimitPolicy;
  /** New incidents alerts may open on a service in a minute (default as in production, 20). */
  intakeStormPerMinute?: number;
  /** Requests served at once (default as in production). */
  maxInFlight?: number;
  /** The application pool's size and wait for a connection (default 10 and 5 s, as in production). */
  pool?: { max?: number; connectionTimeoutMs?: number };
}

export async function createTestContext(options: ContextOptions = {}): Promise<TestContext> {
  const database = await createTestDatabase();
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({
    level: 'debug',
    format: 'json',
    service: 'test',
    transports: [new winston.transports.Stream({ stream: sink })],
  });

  const pool = createPool({ databaseUrl: database.url, applicationName: 'klaxon-test', role: APP_ROLE, logger, ...options.pool });
  const ownerPool = createPool({ databaseUrl: database.url, applicationName: 'klaxon-test-owner', max: 2, logger });
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL;
  if (!redisUrl) throw new Error('REDIS_URL is not set: run the tests with `npm test`');
  const redis = createRedis({ url: redisUrl, commandTimeoutMs: 500, logger, name: 'klaxon-test' });
  const connecting = redis.connect();
  if (options.redisMayBeDown) connecting.catch(() => undefined);
  else await connecting;

  const keyPrefix = `test:${randomBytes(6).toString('hex')}:`;
  const keys = redisKeys(keyPrefix);
  const clock = new ManualClock('2026-03-01T09:00:00.000Z');
  const generous = { ratePerMinute: 1_000_000, burst: 1_000_000 };
  const deps: AppDeps = createApiDeps({
    pool,
    redis,
    keys,
    pendingIndex: new PendingIndex(redis, keys, logger),
    clock,
    timetable: { levelDelaysMs: options.levelDelaysMs ?? TEST_LEVEL_DELAYS_MS },
    logger,
    bodyLimitBytes: options.bodyLimitBytes ?? 64 * 1024,
    ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }),
    metrics: createMetrics({ escalationStats: { pool, clock } }),
    rateLimit: options.rateLimit ?? generous,
    addressRateLimit: options.addressRateLimit ?? generous,
    ...(options.intakeRateLimit === undefined ? {} : { intakeRateLimit: options.intakeRateLimit }),
    ...(options.intakeStormPerMinute === undefined ? {} : { intakeStormPerMinute: options.intakeStormPerMinute }),
    // Every answer of every test is checked against its declared schema.
    checkResponses: true,
  });
  const server: Server = createHttpServer(createApp(deps), KEEP_ALIVE_TIMEOUT_MS);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');

  const admin = await createToken(deps, { name: 'test admin', scopes: ['admin'], teamId: null, expiresAt: null }, { via: 'test' });

  const untrack = track(`test context on database ${database.name}`);
  return {
    databaseUrl: database.url,
    redisUrl,
    keyPrefix,
    pool,
    ownerPool,
    redis,
    keys,
    clock,
    logs,
    deps,
    api: apiClient(`http://127.0.0.1:${address.port}`, admin.token),
    adminToken: admin.token,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await deps.audit.idle();
      await closeRedis(redis);
      await pool.end();
      await ownerPool.end();
      await database.drop();
      untrack();
    },
  };
}
