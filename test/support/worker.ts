/** Workers and due escalations for the worker tests. */
import type pg from 'pg';
import type { Clock } from '../../src/clock/clock.ts';
import { createPool } from '../../src/db/pool.ts';
import { type RedisClient, closeRedis, createRedis } from '../../src/redis/client.ts';
import { Worker, type WorkerDeps, type WorkerOptions } from '../../src/worker/worker.ts';
import { APP_ROLE, type TestContext } from './context.ts';
import { track } from './leaks.ts';

export const TEST_WORKER_OPTIONS: WorkerOptions = {
  batchSize: 200,
  concurrency: 2,
  overlapAfterMs: 50,
  leaseMs: 30_000,
  maxSleepMs: 1_000,
  degradedPollMs: 250,
  reconcileIntervalMs: 3_600_000,
  reconcilePageSize: 1_000,
  slowTickMs: 5_000,
  // Only src/main/worker.ts warms up (test/worker/warm-up.test.ts); a Worker never does.
  warmUp: 0,
  metricsPort: 0,
};

/** A worker sharing the test's pool, Redis client and clock. */
export function workerFor(
  t: TestContext,
  options: Partial<WorkerOptions> = {},
  clock: Clock = t.clock,
  hooks: WorkerDeps['hooks'] = undefined,
  metrics: WorkerDeps['metrics'] = undefined,
): Worker {
  return new Worker({
    hooks,
    metrics,
    pool: t.pool,
    redis: t.redis,
    keys: t.keys,
    clock,
    timetable: t.deps.timetable,
    logger: t.deps.logger,
    options: { ...TEST_WORKER_OPTIONS, ...options },
  });
}

/** A worker with connections of its own, as a separate process would have. */
export async function isolatedWorker(t: TestContext, options: Partial<WorkerOptions> = {}): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const pool = createPool({
    databaseUrl: t.databaseUrl,
    applicationName: 'klaxon-test-worker',
    role: APP_ROLE,
    max: 2,
    logger: t.deps.logger,
  });
  const redis: RedisClient = createRedis({ url: t.redisUrl, commandTimeoutMs: 2_000, logger: t.deps.logger, name: 'klaxon-test-worker' });
  await redis.connect();
  const worker = new Worker({
    pool,
    redis,
    keys: t.keys,
    clock: t.clock,
    timetable: t.deps.timetable,
    logger: t.deps.logger,
    options: { ...TEST_WORKER_OPTIONS, ...options },
  });
  const untrack = track('isolated worker');
  return {
    worker,
    close: async () => {
      await worker.stop();
      await closeRedis(redis);
      await pool.end();
      untrack();
    },
  };
}

/**
 * N incidents already ESCALATING, each with a PENDING level-1 escalation due at
 * `dueAt`, written in bulk (as the API would, but a thousand at a time) and indexed
 * in Redis unless `index` is false.
 */
export async function seedDueEscalations(t: TestContext, count: number, dueAt: Date, { index = true }: { index?: boolean } = {}): Promise<string[]> {
  const now = t.clock.now();
  const { rows } = await t.pool.query<{ id: string }>(
    `WITH incidents AS (
       INSERT INTO incidents (title, severity, state, created_at, updated_at)
       SELECT 'seeded ' || n, 'critical', 'ESCALATING', $2, $2 FROM generate_series(1, $1) AS n
       RETURNING id)
     INSERT INTO escalations (incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at)
     SELECT id, 1, 0, 'PENDING', $3, $2, $2 FROM incidents
     RETURNING id`,
    [count, now, dueAt],
  );
  const ids = rows.map((row) => row.id);
  if (index && ids.length > 0) {
    await t.redis.zAdd(
      t.keys.pending,
      ids.map((id) => ({ score: dueAt.getTime(), value: id })),
    );
  }
  return ids;
}

export async function countByStatus(pool: pg.Pool, level?: number): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ status: string; n: string }>(
    `SELECT status, count(*) AS n FROM escalations WHERE ($1::int IS NULL OR escalation_level = $1) GROUP BY status`,
    [level ?? null],
  );
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
}
