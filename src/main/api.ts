/**
 * The API process: `npm run api`. Starts even when Redis is down (Postgres holds the
 * truth); waits for Postgres, which it cannot work without.
 */
import { closeHttpServer, createApp, createHttpServer } from '../api/app.ts';
import { createApiDeps } from '../api/deps.ts';
import { warmUpApi } from '../api/warm-up.ts';
import { listenForKeyRevocations, listenForRevocations } from '../auth/revocations.ts';
import { createClient } from '../db/pool.ts';
import { ensureEnvironmentToken } from '../commands/tokens.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { PendingIndex } from '../engine/index/pending.ts';
import { bootstrap, onShutdown } from './bootstrap.ts';
import { startRuntime } from './runtime.ts';

const { config, logger } = bootstrap('api');
/** The API's Postgres connections. */
const POOL_SIZE = 10;
const runtime = await startRuntime(config, logger, 'api', POOL_SIZE);

const deps = createApiDeps({
  pool: runtime.pool,
  redis: runtime.redis,
  keys: runtime.keys,
  pendingIndex: new PendingIndex(runtime.redis, runtime.keys, logger),
  clock: runtime.clock,
  timetable: { levelDelaysMs: config.escalation.levelDelaysMs },
  logger,
  bodyLimitBytes: config.http.bodyLimitBytes,
  maxInFlight: config.http.maxInFlight,
  metrics: createMetrics({ escalationStats: { pool: runtime.pool, clock: runtime.clock } }),
  rateLimit: config.rateLimit,
  addressRateLimit: config.addressRateLimit,
  intakeRateLimit: config.intakeRateLimit,
  intakeStormPerMinute: config.intakeStormPerMinute,
  notify: config.notify,
});

// A first admin token for a fresh deployment, given in the environment (never logged).
const adminToken = process.env.KLAXON_ADMIN_TOKEN;
if (adminToken) {
  const outcome = await ensureEnvironmentToken(deps, adminToken);
  if (outcome === 'revoked') logger.warn('KLAXON_ADMIN_TOKEN names a revoked token; it stays revoked');
  else logger.info(outcome === 'created' ? 'stored the admin token from KLAXON_ADMIN_TOKEN' : 'the admin token from KLAXON_ADMIN_TOKEN is stored already');
}

// Tokens are trusted from memory between lookups only while revocations are heard.
const revocations = listenForRevocations({
  connect: () => createClient({ databaseUrl: config.databaseUrl, applicationName: 'klaxon-api-revocations', role: config.database.role }),
  authenticator: deps.authenticator,
  logger,
});
// Integration keys likewise (a connection of its own: one LISTEN channel per listener).
const keyRevocations = listenForKeyRevocations({
  connect: () => createClient({ databaseUrl: config.databaseUrl, applicationName: 'klaxon-api-key-revocations', role: config.database.role }),
  integrationKeys: deps.integrationKeys,
  logger,
});

const app = createApp(deps);

const server = createHttpServer(app, config.http.keepAliveTimeoutMs);
const starting = new AbortController();
let warmingUp: Promise<unknown> = Promise.resolve();
// Before listening: a SIGTERM during start-up is a graceful stop too.
onShutdown(logger, async () => {
  // A warm-up under way stops at its next request, and takes its copies and its socket with it.
  starting.abort();
  await warmingUp;
  await closeHttpServer(server);
  // The audit rows of refused requests still queued, before the pool closes.
  await deps.audit.idle();
  await revocations.close();
  await keyRevocations.close();
  await runtime.close();
});

// Before it listens, so that its first callers meet warm code and planned statements.
warmingUp = warmUpApi({
  deps,
  poolSize: POOL_SIZE,
  databaseUrl: config.databaseUrl,
  role: config.database.role,
  redisKeyPrefix: config.redis.keyPrefix,
  requests: config.http.warmUp,
  logger,
  signal: starting.signal,
});
await warmingUp;
// Told to stop meanwhile: the shutdown is under way, and nothing may start listening.
if (!starting.signal.aborted) {
  server.listen(config.http.port, config.http.host, () => {
    logger.info('listening', { url: `http://${config.http.host}:${config.http.port}` });
  });
}
