/**
 * The notifier process: `npm run notifier`. Any number may run at once; it needs
 * Postgres only (no Redis). It delivers the outbox rows that executed levels and
 * transitions wrote (src/notify/notifier.ts), woken by NOTIFY klaxon_notifications.
 *
 *   npm run notifier             run until SIGTERM/SIGINT: the first stops claiming and
 *                                finishes the sends in flight, a second exits at once
 *   npm run notifier -- --once   deliver everything due now, print a summary line, exit 0
 *
 * Unless --once or NOTIFIER_METRICS_PORT=0, it serves Prometheus metrics on
 * http://HOST:NOTIFIER_METRICS_PORT/metrics (a token with the `metrics` scope).
 *
 * KLAXON_FAULT=stall-before-record makes its first send stop between the provider's
 * answer and recording it, print `stalling before record: <id>`, and wait for SIGCONT:
 * a test SIGSTOPs or kills it there, to prove a send is recorded once.
 */
import type { Server } from 'node:http';
import { Authenticator } from '../auth/authenticate.ts';
import { PostgresClock } from '../clock/postgres-clock.ts';
import { PlanFreshness } from '../db/plan-freshness.ts';
import { createClient, createPool } from '../db/pool.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { registerNotifierMetrics } from '../metrics/notifications.ts';
import { channelsFromConfig, closeChannels } from '../notify/channel-set.ts';
import { Notifier, type NotifierHooks } from '../notify/notifier.ts';
import { startMetricsServer } from '../worker/metrics-server.ts';
import { bootstrap, onShutdown } from './bootstrap.ts';
import { redactUrl } from '../config/config.ts';

const once = process.argv.includes('--once');
const { config, logger } = bootstrap('notifier');
logger.info('starting', { database: redactUrl(config.databaseUrl), database_role: config.database.role || '(the login role)' });

// A connection per send in flight (reply codes, digests, outcomes), one for the claim.
const pool = createPool({
  databaseUrl: config.databaseUrl,
  applicationName: 'klaxon-notifier',
  role: config.database.role,
  max: config.notifier.concurrency + 2,
  logger,
});
const plans = new PlanFreshness(pool, logger);
const clock = new PostgresClock(pool, logger, config.clock.syncIntervalMs);
for (let attempt = 1; ; attempt += 1) {
  try {
    await clock.start();
    break;
  } catch (error) {
    logger.warn('waiting for Postgres', { attempt, error });
    await new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 5_000)));
  }
}
// Plans follow the tables' growth (src/db/plan-freshness.ts): the outbox grows by storms.
await plans.start();

const metrics = createMetrics();
const channels = channelsFromConfig(config.notify, clock);
const notifier = new Notifier({
  pool,
  clock,
  logger,
  channels,
  links: config.notify,
  options: {
    ...config.notifier,
    throttleWindowMs: config.notify.throttleWindowMs,
    destinationPerMinute: config.notify.destinationPerMinute,
    providerPerSecond: config.notify.providerPerSecond,
  },
  metrics: registerNotifierMetrics(metrics.registry),
  listenClient: () => createClient({ databaseUrl: config.databaseUrl, applicationName: 'klaxon-notifier-listen', role: config.database.role }),
  hooks: faultHooks(process.env.KLAXON_FAULT),
});

function faultHooks(fault: string | undefined): NotifierHooks | undefined {
  if (fault !== 'stall-before-record') return undefined;
  let stalled = false;
  return {
    async beforeRecord(row) {
      if (stalled) return;
      stalled = true;
      const resumed = new Promise<void>((resolve) => process.once('SIGCONT', () => resolve()));
      process.stdout.write(`stalling before record: ${row.id}\n`);
      await resumed;
    },
  };
}

async function close(): Promise<void> {
  await closeChannels(channels);
  clock.stop();
  plans.stop();
  await pool.end();
}

if (once) {
  const startedAt = performance.now();
  const summary = await notifier.drain();
  const line =
    `once: claimed=${summary.claimed} sent=${summary.sent} retried=${summary.retried} failed=${summary.failed} ` +
    `skipped=${summary.skipped} folded=${summary.folded} took_ms=${Math.round(performance.now() - startedAt)}`;
  process.stdout.write(`${line}\n`);
  await close();
} else {
  let metricsServer: Server | undefined;
  onShutdown(logger, async () => {
    await notifier.stop();
    if (metricsServer) await new Promise<void>((resolve) => metricsServer?.close(() => resolve()));
    await close();
  });
  if (config.notifier.metricsPort !== 0) {
    try {
      const authenticator = new Authenticator(pool, clock, logger);
      metricsServer = await startMetricsServer(metrics, config.notifier.metricsPort, config.http.host, logger, authenticator);
    } catch (error) {
      // A taken port (another notifier on this host) must not keep pages from going out.
      logger.warn('cannot serve metrics; running without them', { error, port: config.notifier.metricsPort });
    }
  }
  notifier.start();
  const configured = Object.keys(channels).sort();
  logger.info('notifier started', { ...config.notifier, channels: configured });
}
