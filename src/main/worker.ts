/**
 * The worker process: `npm run worker`. Any number may run at once.
 *
 *   npm run worker             run until SIGTERM/SIGINT (a second signal exits at once)
 *   npm run worker -- --once   execute everything due now, print a summary line, exit 0
 *                              (for cron; claims straight from Postgres)
 *
 * Unless --once or WORKER_METRICS_PORT=0, it serves Prometheus metrics on
 * http://HOST:WORKER_METRICS_PORT/metrics.
 *
 * KLAXON_FAULT=crash-after-claim makes the worker kill itself with SIGKILL right
 * after its first claim: the tests use it to prove that claims survive a crash.
 * KLAXON_FAULT=stall-before-commit makes its first batch stop inside its transaction,
 * rows executed and locks held, print `stalling before commit: N escalations`, and
 * wait there until the process gets SIGCONT: the tests SIGSTOP it meanwhile, to prove
 * that a stalled worker holds nobody back and its late commit changes nothing.
 */
import type { Server } from 'node:http';
import { Authenticator } from '../auth/authenticate.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { startMetricsServer } from '../worker/metrics-server.ts';
import { warmUp } from '../worker/warm-up.ts';
import { Worker, type WorkerHooks } from '../worker/worker.ts';
import { bootstrap, onShutdown } from './bootstrap.ts';
import { startRuntime } from './runtime.ts';

const once = process.argv.includes('--once');
const { config, logger } = bootstrap('worker');
/** The worker's Postgres connections: one per batch in flight, one for Postgres drains, one for the reconciler. */
const POOL_SIZE = config.worker.concurrency + 2;
const runtime = await startRuntime(config, logger, 'worker', POOL_SIZE);

// No escalation gauges here: the API reports those, once per database, not once per worker.
const metrics = createMetrics();
const worker = new Worker({
  pool: runtime.pool,
  redis: runtime.redis,
  keys: runtime.keys,
  clock: runtime.clock,
  timetable: { levelDelaysMs: config.escalation.levelDelaysMs },
  logger,
  options: config.worker,
  metrics,
  hooks: faultHooks(process.env.KLAXON_FAULT),
});

function faultHooks(fault: string | undefined): WorkerHooks | undefined {
  if (fault === 'crash-after-claim') return { afterClaim: () => process.kill(process.pid, 'SIGKILL') };
  if (fault === 'stall-before-commit') {
    let stalled = false;
    return {
      async beforeCommit(ids) {
        if (stalled) return;
        stalled = true;
        const resumed = new Promise<void>((resolve) => process.once('SIGCONT', () => resolve()));
        process.stdout.write(`stalling before commit: ${ids.length} escalations\n`);
        await resumed;
      },
    };
  }
  return undefined;
}

if (once) {
  const startedAt = performance.now();
  const summary = await worker.runOnce();
  const line =
    `once: executed=${summary.executed} cancelled=${summary.cancelled} exhausted=${summary.exhausted} ` +
    `skipped=${summary.skipped} took_ms=${Math.round(performance.now() - startedAt)}`;
  process.stdout.write(`${line}\n`);
  await runtime.close();
} else {
  // The signal handlers go in before anything is announced: a SIGTERM that arrives
  // during start-up must still be a graceful stop, not the default instant death.
  let metricsServer: Server | undefined;
  // Aborted by a SIGTERM during start-up: the warm-up stops, and the loop never starts.
  const starting = new AbortController();
  onShutdown(logger, async () => {
    starting.abort();
    await worker.stop();
    if (metricsServer) await new Promise<void>((resolve) => metricsServer?.close(() => resolve()));
    await runtime.close();
  });
  if (config.worker.metricsPort !== 0) {
    try {
      const authenticator = new Authenticator(runtime.pool, runtime.clock, logger);
      metricsServer = await startMetricsServer(metrics, config.worker.metricsPort, config.http.host, logger, authenticator);
    } catch (error) {
      // A taken port (another worker on this host) must not keep escalations from running.
      logger.warn('cannot serve metrics; running without them', { error, port: config.worker.metricsPort });
    }
  }
  // Before the first claim, while nothing is due (src/worker/warm-up.ts).
  const timetable = { levelDelaysMs: config.escalation.levelDelaysMs };
  await warmUp({
    pool: runtime.pool,
    poolSize: POOL_SIZE,
    databaseUrl: config.databaseUrl,
    role: config.database.role,
    clock: runtime.clock,
    timetable,
    logger,
    options: config.worker,
    signal: starting.signal,
  });
  if (!starting.signal.aborted) {
    await worker.start();
    logger.info('worker started', { ...config.worker, key_prefix: config.redis.keyPrefix });
  }
}
