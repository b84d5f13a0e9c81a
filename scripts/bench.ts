/**
 * The benchmark: `npm run bench -- …`. It measures, it never fails CI: the exit code
 * is 0 whatever the figures, non-zero only when the bench itself could not run (stack,
 * database, workers, API, seeding too slow).
 *
 *   npm run -s bench -- --rate 2000 --duration 20 --workers 2
 *       R*S escalations falling due uniformly at R per second for S seconds
 *   npm run -s bench -- --burst 10000 --workers 2
 *       N escalations all due at the same instant
 *     extra: --lead <s> (time between the end of the setup and the first due time),
 *            --grace <s> (how long after the last due time a row may still execute; 5),
 *            --analyze (ANALYZE the seeded tables before T0, as autovacuum would have
 *            on a long-lived database; without it the planner has no statistics, like
 *            right after a storm of new incidents)
 *   npm run -s bench -- --api 200 --duration 10 [--connections 64] [--workers 1]
 *       the API: R `POST /incidents` a second for S seconds (scripts/bench/api.ts)
 *   npm run -s bench -- --notify 200 --duration 10 [--workers 1] [--notifiers 1] [--channel webhook|email|sms|slack]
 *       notifications: R pages a second for S seconds, each one outbox row delivered by the
 *       notifiers to a local sink speaking the channel's provider API; latency from the
 *       level's commit to the sink receiving it (scripts/bench/notify.ts)
 *   npm run -s bench -- --intake 500 --duration 20 [--connections 64] [--workers 1]
 *       alert intake: R Events API v2 triggers a second through POST /v2/enqueue, half of
 *       them new dedup keys (an incident opened and escalating), half repeats
 *       (scripts/bench/intake.ts)
 *
 * It starts its own Postgres and Redis under .data/bench (ports 54359/63829, or
 * KLAXON_BENCH_PG_PORT / KLAXON_BENCH_REDIS_PORT; DATABASE_URL / REDIS_URL use existing
 * servers instead), a fresh database and a random Redis key prefix, W worker processes
 * (`src/main/worker.ts`, exactly as deployed: through scripts/node-process, as npm start
 * runs them), seeds ESCALATING incidents with one PENDING level-1 escalation each,
 * indexes them in Redis as the API does, waits, and reads everything it reports back
 * from Postgres, the audit trail. KLAXON_BENCH_NODE_ARGS adds Node options to every
 * process it starts, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (a .cpuprofile per
 * process, written when the bench stops it); KLAXON_V8_POOL_SIZE reaches the launcher
 * as it does under npm start; KLAXON_BENCH_API_LOG_LEVEL sets the API's log level in the
 * HTTP modes (warn by default: .data/bench/api.log).
 *
 * Lateness is measured twice for each executed escalation:
 *   at commit: pg_xact_commit_timestamp(xmin) - scheduled_at. The row's xmin is the
 *     transaction that marked it EXECUTED (nothing updates an EXECUTED row; a row run
 *     apart under a savepoint after its batch failed has a subtransaction's xid,
 *     which gets the same commit time), checked on every run against the xmin of the
 *     row's `escalated` event, inserted by that same transaction. Postgres takes the
 *     commit time after all of the batch's statements, as it writes the commit record;
 *     the WAL fsync that makes it durable follows (stderr: the run's fsyncs and their
 *     average time, and the COMMITs that waited 100 ms or more on one: ./bench/wal-waits.ts;
 *     such a wait also delays every batch behind it, whose lateness shows it). This is
 *     when the page became real: the figure that counts. It
 *     needs track_commit_timestamp = on: the private Postgres starts with it; on an
 *     existing server without it these figures are null (said on stderr).
 *   pre-commit: executed_at - scheduled_at. executed_at is the instant the worker
 *     stamps on its whole batch before the batch's writes and its COMMIT, so it
 *     flatters: the time a batch takes to write and commit does not show.
 *
 * stdout gets exactly one JSON line at the end:
 *   {"rate","duration_s","workers","executed","duplicates","missed","p50_ms","p90_ms","p99_ms","max_ms",
 *    "pre_commit_p50_ms","pre_commit_p90_ms","pre_commit_p99_ms","pre_commit_max_ms","commit_wal_wait_max_ms"[,"burst"]}
 * (p*_ms/max_ms at commit; the API's line: scripts/bench/api.ts). `npm run` adds its
 * own banner to stdout: use `npm run -s bench` to get only that line. Progress,
 * warnings of the workers and a human summary go to stderr; the workers' full logs go
 * to .data/bench/workers.log.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { PostgresClock } from '../src/clock/postgres-clock.ts';
import { createPool } from '../src/db/pool.ts';
import type { RedisClient } from '../src/redis/client.ts';
import { type RedisKeys, redisKeys } from '../src/redis/keys.ts';
import { type ApiBenchArgs, runApiBench } from './bench/api.ts';
import { type IntakeBenchArgs, parseIntakeArgs, runIntakeBench } from './bench/intake.ts';
import { type NotifyBenchArgs, parseNotifyArgs, runNotifyBench } from './bench/notify.ts';
import {
  type Cleanup,
  UsageError,
  WORKER_LOG,
  type WorkerStats,
  codeVersion,
  connectRedis,
  cpuSeconds,
  createBenchDatabase,
  describeLoad,
  describePostgres,
  isRunning,
  makeLogger,
  positive,
  postgresSnapshot,
  progress,
  redisServerPid,
  runBenchmark,
  seconds,
  startStack,
  startWorkers,
  stopWorkers,
  waitForWorkers,
  workersCpuSeconds,
} from './bench/support.ts';
import { type WalWaits, describeWalWaits, longestWalWaitMs, watchWalWaits } from './bench/wal-waits.ts';

/** Rows per INSERT and members per ZADD: big enough to seed 40,000 rows in about a second. */
const SEED_BATCH = 5_000;
const POLL_MS = 250;
/** After everything executed, how long to keep watching for a late duplicate. */
const DUPLICATE_WATCH_MS = 1_000;
/**
 * Level 1 rows are inserted directly with their own due times; what matters is that
 * level 2 (scheduled by each execution) never falls due during the run.
 */
const ESCALATION_LEVELS = '1h,1h,1h';

// --- arguments ----------------------------------------------------------------------

interface BenchArgs {
  /** Escalations per second (for a burst: the burst size, as the report wants it). */
  rate: number;
  durationS: number;
  /** Set for --burst: everything due at one instant. */
  burst: number | undefined;
  workers: number;
  /** Undefined: derived from the number of rows (see leadMsFor). */
  leadMs: number | undefined;
  graceMs: number;
  analyze: boolean;
}

type Args =
  | { mode: 'workers'; bench: BenchArgs }
  | { mode: 'api'; bench: ApiBenchArgs }
  | { mode: 'notify'; bench: NotifyBenchArgs }
  | { mode: 'intake'; bench: IntakeBenchArgs };

const USAGE = `usage: npm run -s bench -- --rate R --duration S [--workers W] [--lead S] [--grace S] [--analyze]
       npm run -s bench -- --burst N [--workers W] [--lead S] [--grace S] [--analyze]
       npm run -s bench -- --api R [--duration S] [--connections C] [--workers W]
       npm run -s bench -- --notify R [--duration S] [--workers W] [--notifiers N] [--channel webhook|email|sms|slack] [--provider-rate P] [--grace S]
       npm run -s bench -- --intake R [--duration S] [--connections C] [--workers W]`;

function parseBenchArgs(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      rate: { type: 'string' },
      duration: { type: 'string' },
      burst: { type: 'string' },
      api: { type: 'string' },
      notify: { type: 'string' },
      intake: { type: 'string' },
      notifiers: { type: 'string' },
      channel: { type: 'string' },
      'provider-rate': { type: 'string' },
      connections: { type: 'string' },
      workers: { type: 'string', default: '1' },
      lead: { type: 'string' },
      grace: { type: 'string' },
      analyze: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.intake !== undefined) return { mode: 'intake', bench: parseIntakeArgs(values) };
  if (values.notify !== undefined) return { mode: 'notify', bench: parseNotifyArgs(values) };
  for (const flag of ['notifiers', 'channel', 'provider-rate'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --notify`);
  }
  if (values.api !== undefined) {
    for (const [flag, given] of [
      ['--rate', values.rate],
      ['--burst', values.burst],
      ['--lead', values.lead],
      ['--grace', values.grace],
    ] as const) {
      if (given !== undefined) throw new UsageError(`--api excludes ${flag}`);
    }
    if (values.analyze) throw new UsageError('--api excludes --analyze');
    // 0 workers: the API alone.
    const workers = values.workers === '0' ? 0 : positive('--workers', values.workers, { integer: true });
    if (workers > 64) throw new UsageError('--workers: at most 64');
    const rate = positive('--api', values.api);
    const durationS = positive('--duration', values.duration ?? '10');
    if (Math.round(rate * durationS) < 1) throw new UsageError('--api × --duration must be at least 1 request');
    const connections = positive('--connections', values.connections ?? '64', { integer: true });
    return { mode: 'api', bench: { rate, durationS, connections, workers } };
  }
  if (values.connections !== undefined) throw new UsageError('--connections goes with --api');
  const workers = positive('--workers', values.workers, { integer: true });
  if (workers > 64) throw new UsageError('--workers: at most 64');
  const leadMs = values.lead === undefined ? undefined : positive('--lead', values.lead) * 1000;
  const graceMs = positive('--grace', values.grace ?? '5') * 1000;
  const analyze = values.analyze;
  if (values.burst !== undefined) {
    if (values.rate !== undefined || values.duration !== undefined) {
      throw new UsageError('--burst excludes --rate and --duration');
    }
    const burst = positive('--burst', values.burst, { integer: true });
    return { mode: 'workers', bench: { rate: burst, durationS: 0, burst, workers, leadMs, graceMs, analyze } };
  }
  const rate = positive('--rate', values.rate ?? '100');
  const durationS = positive('--duration', values.duration ?? '10');
  if (Math.round(rate * durationS) < 1) throw new UsageError('--rate × --duration must be at least 1 escalation');
  return { mode: 'workers', bench: { rate, durationS, burst: undefined, workers, leadMs, graceMs, analyze } };
}

/**
 * Due times (epoch ms) of every escalation, relative to T0. Whole milliseconds, as
 * the API schedules them (JS Dates): a sub-millisecond due time would be truncated
 * to the ms in the Redis score and in node-pg's Date, and a row could then be
 * executed up to 1 ms before its stored scheduled_at.
 *
 * --burst: every row due at exactly T0 (not spread over a second): the worst case,
 * the whole burst is claimable in the same instant and lateness measures the drain.
 */
function dueTimesMs(args: BenchArgs, t0Ms: number): number[] {
  if (args.burst !== undefined) return new Array<number>(args.burst).fill(t0Ms);
  const count = Math.round(args.rate * args.durationS);
  return Array.from({ length: count }, (_, i) => t0Ms + Math.floor((i * 1000) / args.rate));
}

function rowCount(args: BenchArgs): number {
  return args.burst ?? Math.round(args.rate * args.durationS);
}

/** Seeding runs at roughly 30,000 rows/s here; twice that time plus 2 s leaves a margin. */
function leadMsFor(rows: number): number {
  return 2_000 + Math.ceil(rows / 15);
}

// --- seeding ----------------------------------------------------------------------------

/**
 * One statement per batch: the incidents (ids made here, so each escalation is paired
 * with its incident without relying on the order of RETURNING) and their PENDING
 * level-1 escalations. Returns what the API would index: id and scheduled_at.
 */
const SEED_SQL = `
WITH new_incidents AS (
  INSERT INTO incidents (id, title, severity, state, created_at, updated_at)
  SELECT id, 'bench incident', 'critical', 'ESCALATING', $3::timestamptz, $3::timestamptz
  FROM unnest($1::uuid[]) AS id
  RETURNING id
)
INSERT INTO escalations (incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at)
SELECT seed.incident_id, 1, 0, 'PENDING', seed.due_at, $3::timestamptz, $3::timestamptz
FROM unnest($1::uuid[], $2::timestamptz[]) AS seed (incident_id, due_at)
JOIN new_incidents ON new_incidents.id = seed.incident_id
RETURNING id, scheduled_at`;

/**
 * Writes to Postgres, then indexes in Redis as the API does after its commit: ZADD
 * with the due time as score, then one PUBLISH of the earliest due time to wake the
 * sleeping workers.
 */
async function seed(pool: pg.Pool, redis: RedisClient, keys: RedisKeys, dueMs: number[], createdAt: Date): Promise<void> {
  for (let start = 0; start < dueMs.length; start += SEED_BATCH) {
    const batch = dueMs.slice(start, start + SEED_BATCH);
    const incidentIds = batch.map(() => randomUUID());
    const { rows } = await pool.query<{ id: string; scheduled_at: Date }>(SEED_SQL, [incidentIds, batch.map((ms) => new Date(ms)), createdAt]);
    await redis.zAdd(
      keys.pending,
      rows.map((row) => ({ score: row.scheduled_at.getTime(), value: row.id })),
    );
  }
  // dueMs is in ascending order: its first entry is the earliest (no Math.min(...) over 100,000 arguments).
  await redis.publish(keys.wakeChannel, String(dueMs[0]));
}

// --- waiting and measuring ------------------------------------------------------------

async function countExecuted(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM escalations WHERE escalation_level = 1 AND status = 'EXECUTED'`);
  return rows[0]?.n ?? 0;
}

/**
 * What the workers have not settled yet, from Redis: the ids still in the index due
 * before the deadline (a level 2 falls due an hour later) and those claimed. Two
 * O(log n) calls: counting EXECUTED rows in Postgres scans the table (100,000 rows
 * and more), which four times a second took CPU from the workers and Postgres being
 * measured. Postgres still has the last word (waitForExecution).
 */
async function countUnsettled(redis: RedisClient, keys: RedisKeys, deadlineMs: number): Promise<number> {
  const [pending, inflight] = await Promise.all([redis.zCount(keys.pending, '-inf', deadlineMs), redis.zCard(keys.inflight)]);
  return pending + inflight;
}

/**
 * Polls until every row executed (then watches a little longer for duplicates) or the
 * grace ran out. Redis says when the workers seem done and gives the progress; once it
 * says so, Postgres is asked, and from then on only Postgres (a row the index lost or
 * quarantined must not end the wait).
 */
async function waitForExecution(pool: pg.Pool, redis: RedisClient, keys: RedisKeys, clock: PostgresClock, dueMs: number[], graceMs: number): Promise<void> {
  const total = dueMs.length;
  const t0 = dueMs[0] ?? 0;
  const deadline = (dueMs.at(-1) ?? t0) + graceMs;
  let askPostgres = false;
  for (let poll = 1; ; poll += 1) {
    await sleep(POLL_MS);
    const unsettled = askPostgres ? 0 : await countUnsettled(redis, keys, deadline);
    if (unsettled === 0) askPostgres = true;
    const executed = askPostgres ? await countExecuted(pool) : total - unsettled;
    const now = clock.now().getTime();
    if (poll % 4 === 0 || executed >= total) {
      const due = countDueBy(dueMs, now);
      const source = askPostgres ? '' : ' (settled, from Redis)';
      progress(`T0${formatSigned((now - t0) / 1000)} s: executed ${executed}/${total}${source}, due ${due}, backlog ${due - executed}`);
    }
    if (askPostgres && executed >= total) {
      await sleep(DUPLICATE_WATCH_MS);
      return;
    }
    if (now >= deadline) {
      progress(`grace of ${graceMs / 1000} s after the last due time is over: ${total - (await countExecuted(pool))} not executed`);
      return;
    }
  }
}

/** How many of the sorted due times are <= now (binary search: 40,000 rows, 4 polls a second). */
function countDueBy(sortedDueMs: number[], nowMs: number): number {
  let low = 0;
  let high = sortedDueMs.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sortedDueMs[mid] ?? Infinity) <= nowMs) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Lateness percentiles in ms; null when nothing was measured (or the commit times are unavailable). */
interface Lateness {
  min: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

interface Measurement {
  total: number;
  executed: number;
  missed: number;
  /** Escalation ids paged more than once (escalated events), plus surplus level-2 rows. */
  duplicates: number;
  duplicateEvents: number;
  surplusNextLevels: number;
  escalatedEvents: number;
  nextLevelsScheduled: number;
  nextLevelsExecuted: number;
  /** Lateness at commit: pg_xact_commit_timestamp(xmin) - scheduled_at. */
  atCommit: Lateness;
  /** Lateness at the worker's stamp: executed_at - scheduled_at. */
  preCommit: Lateness;
  /** Execution transactions (distinct xmin of the executed rows). */
  transactions: number;
  /**
   * That the xmin read is the executing transaction's: executed rows whose escalated
   * event (inserted by the same transaction) has another xmin or is missing, and
   * transactions that stamped more than one executed_at. All 0 when it holds.
   */
  xminCheck: { otherXmin: number; noEvent: number; twoStamps: number; noCommitTime: number };
  /** Per transaction: from its stamp (executed_at) to its commit timestamp, ms. */
  stampToCommit: { min: number | null; p50: number | null; p99: number | null; max: number | null };
  windows: { startS: number; rows: number; atCommit: Lateness; preCommit: Lateness }[];
  /** The transactions whose rows waited longest: shows whether the tail is one stall or a backlog. */
  worstBatches: { stampedAtS: number; committedAtS: number | null; rows: number; oldestDueS: number; maxAtCommit: number | null; maxPreCommit: number }[];
}

/** The table the measurement reads, one row per executed level-1 escalation (a temporary table of its session). */
const EXECUTED = 'bench_executed';

/**
 * Lateness in ms. executed_at is the worker's corrected clock at whole ms and
 * scheduled_at is a whole ms too, so the pre-commit lateness comes in 1 ms steps;
 * Postgres' commit timestamps have microseconds.
 */
const PRE_COMMIT = `extract(epoch FROM executed_at - scheduled_at)::float8 * 1000`;
const AT_COMMIT = `extract(epoch FROM committed_at - scheduled_at)::float8 * 1000`;

/** The columns of a Lateness (min, p50, p90, p99, max) over `expr`, prefixed. */
function latenessColumns(expr: string, prefix: string): string {
  return `min(${expr}) AS ${prefix}_min, max(${expr}) AS ${prefix}_max,
          percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY ${expr}) AS ${prefix}_pct`;
}

/** A row with the columns latenessColumns made (any others too). */
type LatenessRow = Record<string, unknown>;

function latenessOf(row: LatenessRow, prefix: 'pre' | 'commit'): Lateness {
  const pct = row[`${prefix}_pct`] as (number | null)[] | null;
  const value = (column: string) => row[`${prefix}_${column}`] as number | null;
  return { min: value('min'), p50: pct?.[0] ?? null, p90: pct?.[1] ?? null, p99: pct?.[2] ?? null, max: value('max') };
}

async function measure(pool: pg.Pool, t0Ms: number, windowS: number, commitTimestamps: boolean): Promise<Measurement> {
  // One session: the temporary table is its own.
  const client = await pool.connect();
  try {
    return await measureWith(client, t0Ms, windowS, commitTimestamps);
  } finally {
    client.release(true);
  }
}

async function measureWith(client: pg.PoolClient, t0Ms: number, windowS: number, commitTimestamps: boolean): Promise<Measurement> {
  const one = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R> => {
    const { rows } = await client.query<R>(text, values);
    if (!rows[0]) throw new Error(`no row from: ${text}`);
    return rows[0];
  };
  // xmin: the transaction that wrote this version of the row, the one that marked it
  // EXECUTED (no statement updates an EXECUTED row). As a number: xid has no ordering.
  await client.query(
    `CREATE TEMPORARY TABLE ${EXECUTED} AS
     SELECT id, scheduled_at, executed_at, xmin::text::bigint AS xid,
            ${commitTimestamps ? 'pg_xact_commit_timestamp(xmin)' : 'NULL::timestamptz'} AS committed_at
     FROM escalations WHERE escalation_level = 1 AND status = 'EXECUTED'`,
  );
  const levelOne = await one<{ total: number; executed: number }>(
    `SELECT count(*)::int AS total, count(*) FILTER (WHERE status = 'EXECUTED')::int AS executed
     FROM escalations WHERE escalation_level = 1`,
  );
  const events = await one<{ escalated: number; duplicated: number }>(
    `SELECT coalesce(sum(n), 0)::int AS escalated, count(*) FILTER (WHERE n > 1)::int AS duplicated
     FROM (SELECT count(*) AS n FROM incident_events WHERE kind = 'escalated' GROUP BY details->>'escalation_id') AS per_escalation`,
  );
  // The unique key (incident, cycle, level) makes surplus rows impossible; counted anyway.
  const nextLevels = await one<{ scheduled: number; executed: number; surplus: number }>(
    `SELECT coalesce(sum(n), 0)::int AS scheduled, coalesce(sum(executed), 0)::int AS executed,
            coalesce(sum(n - 1), 0)::int AS surplus
     FROM (SELECT count(*) AS n, count(*) FILTER (WHERE status = 'EXECUTED') AS executed
           FROM escalations WHERE escalation_level = 2 GROUP BY incident_id, repeat_cycle) AS per_incident`,
  );
  const lateness = await one<LatenessRow & { transactions: number; no_commit_time: number }>(
    `SELECT ${latenessColumns(PRE_COMMIT, 'pre')}, ${latenessColumns(AT_COMMIT, 'commit')},
            count(DISTINCT xid)::int AS transactions,
            count(*) FILTER (WHERE committed_at IS NULL)::int AS no_commit_time
     FROM ${EXECUTED}`,
  );
  const xminCheck = await one<{ other_xmin: number; no_event: number; two_stamps: number }>(
    `SELECT count(*) FILTER (WHERE event.xid <> x.xid)::int AS other_xmin,
            count(*) FILTER (WHERE event.xid IS NULL)::int AS no_event,
            (SELECT count(*)::int FROM (SELECT xid FROM ${EXECUTED} GROUP BY xid HAVING count(DISTINCT executed_at) > 1) AS t) AS two_stamps
     FROM ${EXECUTED} AS x
     LEFT JOIN (SELECT (details->>'escalation_id')::uuid AS escalation_id, xmin::text::bigint AS xid
                FROM incident_events WHERE kind = 'escalated') AS event ON event.escalation_id = x.id`,
  );
  const stampToCommit = await one<{ pct: (number | null)[] | null; min: number | null; max: number | null }>(
    `SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY ms) AS pct, min(ms) AS min, max(ms) AS max
     FROM (SELECT extract(epoch FROM min(committed_at) - min(executed_at))::float8 * 1000 AS ms
           FROM ${EXECUTED} GROUP BY xid) AS per_transaction`,
  );
  const { rows: windows } = await client.query<LatenessRow & { start_s: number; rows: number }>(
    `SELECT (floor((extract(epoch FROM scheduled_at)::float8 * 1000 - $1::float8) / 1000 / $2::int) * $2::int)::int AS start_s,
            count(*)::int AS rows, ${latenessColumns(PRE_COMMIT, 'pre')}, ${latenessColumns(AT_COMMIT, 'commit')}
     FROM ${EXECUTED} GROUP BY 1 ORDER BY 1`,
    [t0Ms, windowS],
  );
  const { rows: worstBatches } = await client.query<{
    stamped_s: number;
    committed_s: number | null;
    rows: number;
    oldest_due_s: number;
    max_commit: number | null;
    max_pre: number;
  }>(
    `SELECT (extract(epoch FROM min(executed_at))::float8 * 1000 - $1::float8) / 1000 AS stamped_s,
            (extract(epoch FROM min(committed_at))::float8 * 1000 - $1::float8) / 1000 AS committed_s,
            count(*)::int AS rows,
            (extract(epoch FROM min(scheduled_at))::float8 * 1000 - $1::float8) / 1000 AS oldest_due_s,
            max(${AT_COMMIT}) AS max_commit, max(${PRE_COMMIT}) AS max_pre
     FROM ${EXECUTED} GROUP BY xid ORDER BY coalesce(max(${AT_COMMIT}), max(${PRE_COMMIT})) DESC LIMIT 3`,
    [t0Ms],
  );
  return {
    total: levelOne.total,
    executed: levelOne.executed,
    missed: levelOne.total - levelOne.executed,
    duplicates: events.duplicated + nextLevels.surplus,
    duplicateEvents: events.duplicated,
    surplusNextLevels: nextLevels.surplus,
    escalatedEvents: events.escalated,
    nextLevelsScheduled: nextLevels.scheduled,
    nextLevelsExecuted: nextLevels.executed,
    atCommit: latenessOf(lateness, 'commit'),
    preCommit: latenessOf(lateness, 'pre'),
    transactions: lateness.transactions,
    xminCheck: {
      otherXmin: xminCheck.other_xmin,
      noEvent: xminCheck.no_event,
      twoStamps: xminCheck.two_stamps,
      noCommitTime: commitTimestamps ? lateness.no_commit_time : 0,
    },
    stampToCommit: { min: stampToCommit.min, p50: stampToCommit.pct?.[0] ?? null, p99: stampToCommit.pct?.[1] ?? null, max: stampToCommit.max },
    windows: windows.map((w) => ({ startS: w.start_s, rows: w.rows, atCommit: latenessOf(w, 'commit'), preCommit: latenessOf(w, 'pre') })),
    worstBatches: worstBatches.map((b) => ({
      stampedAtS: b.stamped_s,
      committedAtS: b.committed_s,
      rows: b.rows,
      oldestDueS: b.oldest_due_s,
      maxAtCommit: b.max_commit,
      maxPreCommit: b.max_pre,
    })),
  };
}

// --- where a commit's time goes: the WAL ------------------------------------------------

/** pg_stat_wal's counters (Postgres 14 to 17; 18 moved the write and sync ones to pg_stat_io). */
interface WalStats {
  wal_records?: number;
  wal_bytes?: number;
  wal_write?: number;
  wal_sync?: number;
  wal_write_time?: number;
  wal_sync_time?: number;
}

/** The cluster's WAL counters now, or undefined when this Postgres has no pg_stat_wal. */
async function walStats(pool: pg.Pool): Promise<WalStats | undefined> {
  try {
    const { rows } = await pool.query<{ wal: WalStats; timing: string }>(
      `SELECT to_jsonb(w) AS wal, current_setting('track_wal_io_timing') AS timing FROM pg_stat_wal AS w`,
    );
    const row = rows[0];
    if (!row) return undefined;
    // Without track_wal_io_timing the times stay 0: not a measurement.
    if (row.timing !== 'on') return { ...row.wal, wal_write_time: undefined, wal_sync_time: undefined };
    return row.wal;
  } catch {
    return undefined;
  }
}

/**
 * The WAL between two snapshots: how many fsyncs (each commit waits for the one that
 * covers its commit record) and how long they took. Cluster-wide and approximate: a
 * backend reports its counters at most once a second, and at exit.
 */
function describeWal(before: WalStats | undefined, after: WalStats | undefined, runS: number): string {
  if (!before || !after) return 'WAL: no pg_stat_wal on this Postgres';
  const delta = (key: keyof WalStats) => {
    const a = after[key];
    const b = before[key];
    return a === undefined || b === undefined ? undefined : Number(a) - Number(b);
  };
  const syncs = delta('wal_sync');
  const writes = delta('wal_write');
  const syncMs = delta('wal_sync_time');
  const writeMs = delta('wal_write_time');
  const bytes = delta('wal_bytes');
  if (syncs === undefined) return 'WAL: pg_stat_wal has no fsync counters on this Postgres';
  const average = (ms: number | undefined, count: number | undefined) =>
    ms === undefined || !count ? '' : `, ${(ms / count).toFixed(2)} ms on average (${(ms / 1000).toFixed(1)} s in all)`;
  const timing = syncMs === undefined ? ' (no times: track_wal_io_timing is off)' : '';
  return (
    `WAL during the run: ${syncs} fsyncs (${(syncs / runS).toFixed(0)}/s)${average(syncMs, syncs)}; ` +
    `${writes ?? '?'} writes${average(writeMs, writes)}; ${bytes === undefined ? '?' : (bytes / 1e6).toFixed(1)} MB${timing}`
  );
}

// --- reporting --------------------------------------------------------------------------

function round1(value: number | null): number | null {
  return value === null ? null : Math.round(value * 10) / 10;
}

function formatSigned(value: number, digits = 1): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}

function ms(value: number | null): string {
  return value === null ? '-' : value.toFixed(1);
}

function resultLine(args: BenchArgs, m: Measurement, walWaits: WalWaits): string {
  const result: Record<string, number | null> = {
    rate: args.rate,
    duration_s: args.durationS,
    workers: args.workers,
    executed: m.executed,
    duplicates: m.duplicates,
    missed: m.missed,
    p50_ms: round1(m.atCommit.p50),
    p90_ms: round1(m.atCommit.p90),
    p99_ms: round1(m.atCommit.p99),
    max_ms: round1(m.atCommit.max),
    pre_commit_p50_ms: round1(m.preCommit.p50),
    pre_commit_p90_ms: round1(m.preCommit.p90),
    pre_commit_p99_ms: round1(m.preCommit.p99),
    pre_commit_max_ms: round1(m.preCommit.max),
    // The disk's share of the tail: the longest a COMMIT was seen waiting on the WAL's flush (0: none reached HELD_UP_MS).
    commit_wal_wait_max_ms: longestWalWaitMs(walWaits),
  };
  if (args.burst !== undefined) result.burst = args.burst;
  return JSON.stringify(result);
}

interface Timings {
  setupS: number;
  seedS: number;
  runS: number;
  teardownS: number;
  totalS: number;
}

interface Context {
  code: string;
  load: string;
  wal: string;
  /** COMMITs the WAL's flush held up (./bench/wal-waits.ts). */
  walWaits: string;
  /** CPU per execution: Postgres's and the workers'. */
  cpu: string;
  commitTimestamps: boolean;
}

function describeLateness(l: Lateness): string {
  return `min ${ms(l.min)}  p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  max ${ms(l.max)}`;
}

function printSummary(args: BenchArgs, m: Measurement, stats: WorkerStats, timings: Timings, context: Context): void {
  const what =
    args.burst !== undefined ? `burst of ${args.burst} escalations all due at T0` : `${m.total} escalations due over ${args.durationS} s at ${args.rate}/s`;
  progress(`---- ${what}, ${args.workers} worker(s)${args.analyze ? ', tables analyzed before T0' : ''}`);
  progress(`code: ${context.code}; ${context.load}`);
  progress(
    `executed ${m.executed}/${m.total}, missed ${m.missed}, duplicates ${m.duplicates}` +
      ` (ids paged twice ${m.duplicateEvents}, surplus level-2 rows ${m.surplusNextLevels})`,
  );
  progress(`audit: ${m.escalatedEvents} escalated events, ${m.nextLevelsScheduled} level-2 rows scheduled, ` + `${m.nextLevelsExecuted} executed (must be 0)`);
  progress(
    context.commitTimestamps
      ? `lateness ms at commit:  ${describeLateness(m.atCommit)}`
      : 'lateness ms at commit:  unavailable (track_commit_timestamp is off)',
  );
  progress(`lateness ms pre-commit: ${describeLateness(m.preCommit)}  (executed_at, stamped before the batch's writes and COMMIT)`);
  if (m.preCommit.min !== null && m.preCommit.min < 0) progress(`WARNING: an escalation executed ${(-m.preCommit.min).toFixed(1)} ms EARLY`);
  if (m.transactions > 0) {
    const s = m.stampToCommit;
    progress(
      `${m.transactions} execution transactions, ${(m.executed / m.transactions).toFixed(1)} escalations each on average` +
        (context.commitTimestamps ? `; stamp to commit ms per transaction: min ${ms(s.min)}  p50 ${ms(s.p50)}  p99 ${ms(s.p99)}  max ${ms(s.max)}` : ''),
    );
    const x = m.xminCheck;
    const holds = x.otherXmin === 0 && x.noEvent === 0 && x.twoStamps === 0 && x.noCommitTime === 0;
    progress(
      `${holds ? '' : 'WARNING: '}xmin check: rows whose escalated event has another xmin ${x.otherXmin}, ` +
        `without an event ${x.noEvent}; transactions with two stamps ${x.twoStamps}; rows without a commit time ${x.noCommitTime}` +
        `${holds ? " (all 0: each row's xmin is the transaction that executed it)" : ''}`,
    );
  }
  progress(context.wal);
  progress(context.walWaits);
  progress(context.cpu);
  for (const b of m.worstBatches) {
    const committed = b.committedAtS === null ? '' : `, committed ${((b.committedAtS - b.stampedAtS) * 1000).toFixed(1)} ms later`;
    const atCommit = b.maxAtCommit === null ? '' : `${ms(b.maxAtCommit)} ms at commit, `;
    progress(
      `  late batch: ${b.rows} rows stamped at T0${formatSigned(b.stampedAtS, 3)} s${committed}, oldest due T0${formatSigned(b.oldestDueS, 3)} s, ` +
        `waited up to ${atCommit}${ms(b.maxPreCommit)} ms pre-commit`,
    );
  }
  const slowest = stats.slowTicks.reduce((max, tick) => Math.max(max, tick.tookMs), 0);
  progress(
    `workers: ${stats.slowTicks.length} slow-tick warnings${stats.slowTicks.length ? ` (slowest ${slowest} ms)` : ''}, ` +
      `${stats.warnings} warnings, ${stats.errors} errors in all (log: ${WORKER_LOG})`,
  );
  if (m.windows.length > 1) {
    progress('lateness by due time (window from T0: rows, p50/p99/max ms at commit, pre-commit):');
    for (const w of m.windows) {
      const a = w.atCommit;
      const p = w.preCommit;
      progress(
        `  +${String(w.startS).padStart(3)} s: ${String(w.rows).padStart(6)}  ` +
          `${ms(a.p50)}/${ms(a.p99)}/${ms(a.max)}  pre-commit ${ms(p.p50)}/${ms(p.p99)}/${ms(p.max)}`,
      );
    }
  }
  progress(
    `took ${timings.totalS.toFixed(1)} s: setup ${timings.setupS.toFixed(1)} s, seeding ${timings.seedS.toFixed(1)} s, ` +
      `run ${timings.runS.toFixed(1)} s, teardown ${timings.teardownS.toFixed(1)} s`,
  );
}

// --- the run ------------------------------------------------------------------------------

async function runBench(args: BenchArgs, cleanup: Cleanup): Promise<void> {
  const startedAt = performance.now();
  // Read at the start: what the workers are about to load, and how busy the machine is.
  const code = await codeVersion();
  const [loadBefore = 0] = loadavg();
  const logger = makeLogger();
  const stack = await startStack(cleanup, { commitTimestamps: true });
  const databaseUrl = await createBenchDatabase(stack.databaseUrl, logger, cleanup);
  const keyPrefix = `bench:${randomBytes(4).toString('hex')}:`;
  const keys = redisKeys(keyPrefix);
  const redis = await connectRedis(stack.redisUrl, keys, logger, cleanup);
  const pool = createPool({ databaseUrl, applicationName: 'klaxon-bench', max: 4, logger });
  cleanup.add('close the Postgres pool', () => pool.end());
  // The workers' time authority is Postgres: T0 and "now" come from the same corrected clock.
  const clock = new PostgresClock(pool, logger, 30_000);
  await clock.sync();

  const stats: WorkerStats = { slowTicks: [], warnings: 0, errors: 0 };
  progress(`starting ${args.workers} worker(s), key prefix ${keyPrefix}`);
  const workerSetup = { count: args.workers, databaseUrl, redisUrl: stack.redisUrl, keyPrefix, escalationLevels: ESCALATION_LEVELS };
  const workers = startWorkers(workerSetup, stats, cleanup);
  await waitForWorkers(workers, redis, keys);
  const setupS = seconds(startedAt);

  const seedStartedAt = performance.now();
  const rows = rowCount(args);
  const leadMs = args.leadMs ?? leadMsFor(rows);
  const t0Ms = Math.ceil(clock.now().getTime() + leadMs);
  const dueMs = dueTimesMs(args, t0Ms);
  progress(`seeding ${rows} escalations, the first due at T0 = now + ${(leadMs / 1000).toFixed(1)} s`);
  await seed(pool, redis, keys, dueMs, clock.now());
  if (args.analyze) await pool.query('ANALYZE incidents, escalations, incident_events');
  const marginMs = t0Ms - clock.now().getTime();
  if (marginMs < 0) {
    throw new Error(
      `seeding finished ${Math.round(-marginMs)} ms after T0, so the first escalations were late ` +
        `before any worker could see them; rerun with a longer --lead (it was ${leadMs / 1000} s)`,
    );
  }
  const seedS = seconds(seedStartedAt);
  progress(`seeded in ${seedS.toFixed(2)} s, ${(marginMs / 1000).toFixed(2)} s before T0`);

  const walBefore = await walStats(pool);
  // Where the machine's CPU went, per execution: Postgres's backends, the workers and Redis.
  const redisPid = await redisServerPid(redis);
  const [postgresBefore, workersBefore, redisBefore] = [await postgresSnapshot(databaseUrl), workersCpuSeconds(workers), cpuSeconds(redisPid)];
  const walWatch = await watchWalWaits(databaseUrl);
  const runStartedAt = performance.now();
  await waitForExecution(pool, redis, keys, clock, dueMs, args.graceMs);
  const walWaits = await walWatch.stop();
  const [postgresAfter, workersAfter, redisAfter] = [await postgresSnapshot(databaseUrl), workersCpuSeconds(workers), cpuSeconds(redisPid)];
  for (const worker of workers.filter((w) => !isRunning(w.child))) {
    progress(`WARNING: worker ${worker.index} exited during the run (code ${String(worker.child.exitCode)})`);
  }
  const runS = seconds(runStartedAt);

  // Stopped before measuring: a batch still in flight commits (or not) before the count,
  // so a duplicate it would cause is counted too.
  const teardownStartedAt = performance.now();
  progress('stopping the workers (SIGTERM)');
  await stopWorkers(workers);
  // After the workers exited: a backend reports its WAL counters at exit at the latest.
  const wal = describeWal(walBefore, await walStats(pool), runS);
  const windowS = args.burst !== undefined ? 1 : windowSecondsFor(args.durationS);
  const measurement = await measure(pool, t0Ms, windowS, stack.commitTimestamps);
  await cleanup.run();
  const teardownS = seconds(teardownStartedAt);

  const [loadAfter = 0] = loadavg();
  const timings = { setupS, seedS, runS, teardownS, totalS: seconds(startedAt) };
  const executed = Math.max(1, measurement.executed);
  const msAnExecution = (cpuS: number) => `${((cpuS / executed) * 1000).toFixed(3)} ms of CPU an execution`;
  const cpu =
    `${describePostgres(postgresBefore, postgresAfter, executed, 'an execution')}; ` +
    `workers: ${msAnExecution(workersAfter - workersBefore)}; Redis: ${msAnExecution(redisAfter - redisBefore)} (its server process)`;
  const context = {
    code,
    load: describeLoad(loadBefore, loadAfter),
    wal,
    walWaits: describeWalWaits(walWaits, t0Ms),
    cpu,
    commitTimestamps: stack.commitTimestamps,
  };
  printSummary(args, measurement, stats, timings, context);
  process.stdout.write(`${resultLine(args, measurement, walWaits)}\n`);
}

/** About ten lines of per-window figures whatever the duration. */
function windowSecondsFor(durationS: number): number {
  return Math.max(1, Math.ceil(durationS / 10));
}

await runBenchmark(parseBenchArgs, USAGE, (args, cleanup) => {
  switch (args.mode) {
    case 'api':
      return runApiBench(args.bench, cleanup);
    case 'notify':
      return runNotifyBench(args.bench, cleanup);
    case 'intake':
      return runIntakeBench(args.bench, cleanup);
    case 'workers':
      return runBench(args.bench, cleanup);
  }
});
