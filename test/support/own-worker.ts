/**
 * A worker on real time with connections of its own (a pool, a Redis client with its
 * own command deadline), as a separate process would have, for the tests that hang,
 * stop or reload Redis under traffic.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Clock } from '../../src/clock/clock.ts';
import { createPool } from '../../src/db/pool.ts';
import { type RedisClient, closeRedis, createRedis } from '../../src/redis/client.ts';
import { type TickSummary, Worker, type WorkerOptions } from '../../src/worker/worker.ts';
import { APP_ROLE, type TestContext } from './context.ts';
import { track } from './leaks.ts';
import { TEST_WORKER_OPTIONS } from './worker.ts';

export const systemClock: Clock = { now: () => new Date() };

export interface OwnWorker {
  worker: Worker;
  redis: RedisClient;
  pool: pg.Pool;
  /** Every tick's summary, with when it ended (performance.now()). */
  ticks: (TickSummary & { at: number })[];
  close(): Promise<void>;
}

export interface OwnWorkerOptions {
  /** The worker's REDIS_COMMAND_TIMEOUT. */
  commandTimeoutMs: number;
  options?: Partial<WorkerOptions>;
  clock?: Clock;
}

export async function ownWorker(t: TestContext, { commandTimeoutMs, options = {}, clock = systemClock }: OwnWorkerOptions): Promise<OwnWorker> {
  const settings = { ...TEST_WORKER_OPTIONS, ...options };
  const pool = createPool({
    databaseUrl: t.databaseUrl,
    applicationName: 'klaxon-test-own-worker',
    role: APP_ROLE,
    max: settings.concurrency + 2,
    logger: t.deps.logger,
  });
  const redis = createRedis({ url: t.redisUrl, commandTimeoutMs, logger: t.deps.logger, name: 'klaxon-test-own-worker' });
  await redis.connect();
  const ticks: OwnWorker['ticks'] = [];
  const worker = new Worker({
    pool,
    redis,
    keys: t.keys,
    clock,
    timetable: t.deps.timetable,
    logger: t.deps.logger,
    options: settings,
    hooks: { afterTick: (summary) => ticks.push({ ...summary, at: performance.now() }) },
  });
  const untrack = track('own worker');
  return {
    worker,
    redis,
    pool,
    ticks,
    async close() {
      await worker.stop();
      await closeRedis(redis);
      await pool.end();
      untrack();
    },
  };
}

/**
 * Level-1 escalations of ESCALATING incidents, one due at each of `dueAt`, written to
 * Postgres (as the API would) and, unless `index` is false, to the Redis index.
 */
export async function seedEscalationsDueAt(t: TestContext, dueAt: Date[], { index = true }: { index?: boolean } = {}): Promise<string[]> {
  // Each incident is titled with its position, so the escalation finds its own.
  const tag = randomBytes(4).toString('hex');
  const { rows } = await t.pool.query<{ id: string; scheduled_at: Date }>(
    `WITH due AS (
       SELECT at, 'due ' || $3 || ' #' || n AS title FROM unnest($1::timestamptz[]) WITH ORDINALITY AS u(at, n)),
     incidents AS (
       INSERT INTO incidents (title, severity, state, created_at, updated_at)
       SELECT title, 'critical', 'ESCALATING', $2, $2 FROM due
       RETURNING id, title)
     INSERT INTO escalations (incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at)
     SELECT incidents.id, 1, 0, 'PENDING', due.at, $2, $2 FROM incidents JOIN due USING (title)
     RETURNING id, scheduled_at`,
    [dueAt, t.clock.now(), tag],
  );
  if (index && rows.length > 0) {
    await t.redis.zAdd(
      t.keys.pending,
      rows.map((row) => ({ score: row.scheduled_at.getTime(), value: row.id })),
    );
  }
  return rows.map((row) => row.id);
}

/** Every level-1 escalation with its lateness (executed_at - scheduled_at, ms; null while not executed). */
export async function level1Lateness(pool: pg.Pool): Promise<{ id: string; status: string; scheduledAt: Date; latenessMs: number | null }[]> {
  const { rows } = await pool.query<{ id: string; status: string; scheduled_at: Date; executed_at: Date | null }>(
    `SELECT id, status, scheduled_at, executed_at FROM escalations WHERE escalation_level = 1 ORDER BY scheduled_at`,
  );
  return rows.map((row) => ({
    id: row.id,
    status: row.status,
    scheduledAt: row.scheduled_at,
    latenessMs: row.executed_at ? row.executed_at.getTime() - row.scheduled_at.getTime() : null,
  }));
}

/** Escalation ids with other than exactly one `escalated` event (executed twice, or executed without one). */
export async function executedOtherThanOnce(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT e.id FROM escalations e
     LEFT JOIN incident_events ev ON ev.kind = 'escalated' AND ev.details->>'escalation_id' = e.id::text
     WHERE e.status = 'EXECUTED'
     GROUP BY e.id HAVING count(ev.*) <> 1`,
  );
  return rows.map((row) => row.id);
}
