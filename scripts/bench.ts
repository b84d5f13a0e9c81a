/**
 * The worker benchmark: `npm run bench -- …`. It measures, it never fails CI: the
 * exit code is 0 whatever the figures, non-zero only when the bench itself could not
 * run (stack, database, workers, seeding too slow).
 *
 *   npm run -s bench -- --rate 2000 --duration 20 --workers 2
 *       R*S escalations falling due uniformly at R per second for S seconds
 *   npm run -s bench -- --burst 10000 --workers 2
 *       N escalations all due at the same instant
 *   extra: --lead <s> (time between the end of the setup and the first due time),
 *          --grace <s> (how long after the last due time a row may still execute; 5),
 *          --analyze (ANALYZE the seeded tables before T0, as autovacuum would have
 *          on a long-lived database; without it the planner has no statistics, like
 *          right after a storm of new incidents)
 *
 * It starts its own Postgres and Redis under .data/bench (ports 54359/63829, or
 * KLAXON_BENCH_PG_PORT / KLAXON_BENCH_REDIS_PORT; DATABASE_URL / REDIS_URL use existing
 * servers instead), a fresh database and a random Redis key prefix, W worker processes
 * (`src/main/worker.ts`, exactly as deployed), seeds ESCALATING incidents with one
 * PENDING level-1 escalation each, indexes them in Redis as the API does, waits, and
 * reads everything it reports back from Postgres, the audit trail.
 *
 * stdout gets exactly one JSON line at the end:
 *   {"rate","duration_s","workers","executed","duplicates","missed","p50_ms","p90_ms","p99_ms","max_ms"[,"burst"]}
 * (`npm run` adds its own banner to stdout: use `npm run -s bench` to get only that line).
 * Progress, warnings of the workers and a human summary go to stderr; the workers'
 * full logs go to .data/bench/workers.log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { type WriteStream, createWriteStream } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { PostgresClock } from '../src/clock/postgres-clock.ts';
import { createPool } from '../src/db/pool.ts';
import type { RedisClient } from '../src/redis/client.ts';
import { type RedisKeys, redisKeys } from '../src/redis/keys.ts';
import {
  Cleanup,
  DATA_DIR,
  REPO_ROOT,
  UsageError,
  connectRedis,
  createBenchDatabase,
  makeLogger,
  positive,
  progress,
  runBenchmark,
  runCommand,
  startStack,
} from './bench/support.ts';

const WORKER_LOG = join(REPO_ROOT, DATA_DIR, 'workers.log');
/** Rows per INSERT and members per ZADD: big enough to seed 40,000 rows in about a second. */
const SEED_BATCH = 5_000;
const POLL_MS = 250;
/** After everything executed, how long to keep watching for a late duplicate. */
const DUPLICATE_WATCH_MS = 1_000;
const WORKER_READY_TIMEOUT_MS = 60_000;
const WORKER_STOP_TIMEOUT_MS = 20_000;
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

const USAGE = `usage: npm run -s bench -- --rate R --duration S [--workers W] [--lead S] [--grace S] [--analyze]
       npm run -s bench -- --burst N [--workers W] [--lead S] [--grace S] [--analyze]`;


function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      rate: { type: 'string' },
      duration: { type: 'string' },
      burst: { type: 'string' },
      workers: { type: 'string', default: '1' },
      lead: { type: 'string' },
      grace: { type: 'string', default: '5' },
      analyze: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const workers = positive('--workers', values.workers, { integer: true });
  if (workers > 64) throw new UsageError('--workers: at most 64');
  const leadMs = values.lead === undefined ? undefined : positive('--lead', values.lead) * 1000;
  const graceMs = positive('--grace', values.grace) * 1000;
  const analyze = values.analyze;
  if (values.burst !== undefined) {
    if (values.rate !== undefined || values.duration !== undefined) {
      throw new UsageError('--burst excludes --rate and --duration');
    }
    const burst = positive('--burst', values.burst, { integer: true });
    return { rate: burst, durationS: 0, burst, workers, leadMs, graceMs, analyze };
  }
  const rate = positive('--rate', values.rate ?? '100');
  const durationS = positive('--duration', values.duration ?? '10');
  if (Math.round(rate * durationS) < 1) throw new UsageError('--rate × --duration must be at least 1 escalation');
  return { rate, durationS, burst: undefined, workers, leadMs, graceMs, analyze };
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

// --- workers ----------------------------------------------------------------------------

interface WorkerProcess {
  index: number;
  child: ChildProcess;
  /** Settles when the worker logged "worker started"; rejects if it exits before. */
  ready: Promise<void>;
  exited: Promise<void>;
}

/** What the workers said that the summary reports. */
interface WorkerStats {
  slowTicks: { worker: number; tookMs: number; claimed: number }[];
  warnings: number;
  errors: number;
}

interface LogLine {
  level?: unknown;
  message?: unknown;
  took_ms?: unknown;
  claimed?: unknown;
}

function spawnWorker(index: number, env: NodeJS.ProcessEnv, log: WriteStream, stats: WorkerStats): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/worker.ts'], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    child.once('exit', (code, signal) =>
      reject(new Error(`worker ${index} exited (${signal ?? `code ${String(code)}`}) before it was ready; see ${WORKER_LOG}`)),
    );
  });
  ready.catch(() => undefined); // awaited by waitForWorkers; an exit after readiness is reported there
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const onLine = (line: string) => {
    log.write(`w${index} ${line}\n`);
    const entry = parseLogLine(line);
    if (entry?.message === 'worker started') markReady();
    if (entry && entry.level !== 'warn' && entry.level !== 'error') return;
    // Warnings, errors, and anything that is not a log line (a crash's stack trace) go to stderr.
    if (entry?.level === 'warn') stats.warnings += 1;
    if (entry?.level === 'error') stats.errors += 1;
    if (entry?.message === 'slow tick') {
      stats.slowTicks.push({ worker: index, tookMs: Number(entry.took_ms), claimed: Number(entry.claimed) });
    }
    process.stderr.write(`worker ${index}: ${line}\n`);
  };
  readLines(child.stdout, onLine);
  readLines(child.stderr, onLine);
  return { index, child, ready, exited };
}

function readLines(stream: Readable | null, onLine: (line: string) => void): void {
  if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
}

function parseLogLine(line: string): LogLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(line) as unknown;
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const TIMED_OUT = Symbol('timed out');

/** The promise, or TIMED_OUT after `ms`; the timer is cleared either way (a pending timer would keep the bench alive). */
async function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function isRunning(worker: WorkerProcess): boolean {
  return worker.child.exitCode === null && worker.child.signalCode === null;
}

/** SIGTERM (finish the batch in flight, settle its claims, exit), then SIGKILL if that takes too long. */
async function stopWorkers(workers: WorkerProcess[]): Promise<void> {
  await Promise.all(
    workers.filter(isRunning).map(async (worker) => {
      worker.child.kill('SIGTERM');
      if ((await raceTimeout(worker.exited, WORKER_STOP_TIMEOUT_MS)) === TIMED_OUT) {
        progress(`worker ${worker.index} did not stop within ${WORKER_STOP_TIMEOUT_MS / 1000} s: killing it`);
        worker.child.kill('SIGKILL');
        await worker.exited;
      }
    }),
  );
}

interface WorkerSetup {
  count: number;
  databaseUrl: string;
  redisUrl: string;
  keyPrefix: string;
}

function startWorkers(setup: WorkerSetup, stats: WorkerStats, cleanup: Cleanup): WorkerProcess[] {
  const log = createWriteStream(WORKER_LOG, { flags: 'w' });
  cleanup.add('close the worker log', () => new Promise<void>((resolve) => log.end(resolve)));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: setup.databaseUrl,
    REDIS_URL: setup.redisUrl,
    REDIS_KEY_PREFIX: setup.keyPrefix,
    ESCALATION_LEVELS,
    // info, not warn: "worker started" is an info line and is how readiness is seen.
    // Executions are not logged at info, so this adds a handful of lines per worker.
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    NODE_ENV: 'production',
    // Several workers on one host: they would all want the same metrics port.
    WORKER_METRICS_PORT: '0',
  };
  const workers = Array.from({ length: setup.count }, (_, i) => spawnWorker(i + 1, env, log, stats));
  cleanup.add('stop the workers', () => stopWorkers(workers));
  return workers;
}

/**
 * Every worker logged "worker started", and the first reconciliation set the index
 * marker: seeding before that would send the first claim down the index-repair path,
 * which is not what is being measured.
 */
async function waitForWorkers(workers: WorkerProcess[], redis: RedisClient, keys: RedisKeys): Promise<void> {
  if ((await raceTimeout(Promise.all(workers.map((worker) => worker.ready)), WORKER_READY_TIMEOUT_MS)) === TIMED_OUT) {
    throw new Error(`the workers were not ready within ${WORKER_READY_TIMEOUT_MS / 1000} s; see ${WORKER_LOG}`);
  }
  for (let waited = 0; (await redis.exists(keys.indexMarker)) === 0; waited += 50) {
    if (waited > 10_000) throw new Error('the workers did not build the Redis index within 10 s');
    await sleep(50);
  }
  // Let the other workers' start-up reconciliations (no-ops on an empty database) finish.
  await sleep(300);
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
    const { rows } = await pool.query<{ id: string; scheduled_at: Date }>(SEED_SQL, [
      incidentIds,
      batch.map((ms) => new Date(ms)),
      createdAt,
    ]);
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
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM escalations WHERE escalation_level = 1 AND status = 'EXECUTED'`,
  );
  return rows[0]?.n ?? 0;
}

/** Polls until every row executed (then watches a little longer for duplicates) or the grace ran out. */
async function waitForExecution(pool: pg.Pool, clock: PostgresClock, dueMs: number[], graceMs: number): Promise<void> {
  const total = dueMs.length;
  const t0 = dueMs[0] ?? 0;
  const deadline = (dueMs.at(-1) ?? t0) + graceMs;
  for (let poll = 1; ; poll += 1) {
    await sleep(POLL_MS);
    const executed = await countExecuted(pool);
    const now = clock.now().getTime();
    if (poll % 4 === 0 || executed >= total) {
      const due = countDueBy(dueMs, now);
      progress(`T0${formatSigned((now - t0) / 1000)} s: executed ${executed}/${total}, due ${due}, backlog ${due - executed}`);
    }
    if (executed >= total) {
      await sleep(DUPLICATE_WATCH_MS);
      return;
    }
    if (now >= deadline) {
      progress(`grace of ${graceMs / 1000} s after the last due time is over: ${total - executed} not executed`);
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
  lateness: Lateness;
  /**
   * Distinct executed_at values: each worker transaction stamps its whole batch with
   * one instant, so this counts transactions (two landing on the same ms count once).
   */
  transactions: number;
  windows: { startS: number; rows: number; p50: number; p99: number; max: number }[];
  /** The batches whose rows waited longest: shows whether the tail is one stall or a backlog. */
  worstBatches: { executedAtS: number; rows: number; oldestDueS: number; maxLateness: number }[];
}

/**
 * Lateness in ms of an executed row. executed_at is the worker's corrected clock at
 * whole ms and scheduled_at is a whole ms too, so lateness comes in 1 ms steps.
 */
const LATENESS = `extract(epoch FROM executed_at - scheduled_at)::float8 * 1000`;

async function measure(pool: pg.Pool, t0Ms: number, windowS: number): Promise<Measurement> {
  const one = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R> => {
    const { rows } = await pool.query<R>(text, values);
    if (!rows[0]) throw new Error(`no row from: ${text}`);
    return rows[0];
  };
  const levelOne = await one<{ total: number; executed: number; transactions: number }>(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE status = 'EXECUTED')::int AS executed,
            count(DISTINCT executed_at)::int AS transactions
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
  const lateness = await one<{ min: number | null; pct: number[] | null; max: number | null }>(
    `SELECT min(${LATENESS}) AS min, max(${LATENESS}) AS max,
            percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY ${LATENESS}) AS pct
     FROM escalations WHERE escalation_level = 1 AND status = 'EXECUTED'`,
  );
  const { rows: windows } = await pool.query<{ start_s: number; rows: number; p50: number; p99: number; max: number }>(
    `SELECT (floor((extract(epoch FROM scheduled_at)::float8 * 1000 - $1::float8) / 1000 / $2::int) * $2::int)::int AS start_s,
            count(*)::int AS rows,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY ${LATENESS}) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY ${LATENESS}) AS p99,
            max(${LATENESS}) AS max
     FROM escalations WHERE escalation_level = 1 AND status = 'EXECUTED'
     GROUP BY 1 ORDER BY 1`,
    [t0Ms, windowS],
  );
  const { rows: worstBatches } = await pool.query<{ executed_s: number; rows: number; oldest_due_s: number; max: number }>(
    `SELECT (extract(epoch FROM executed_at)::float8 * 1000 - $1::float8) / 1000 AS executed_s,
            count(*)::int AS rows,
            (extract(epoch FROM min(scheduled_at))::float8 * 1000 - $1::float8) / 1000 AS oldest_due_s,
            max(${LATENESS}) AS max
     FROM escalations WHERE escalation_level = 1 AND status = 'EXECUTED'
     GROUP BY executed_at ORDER BY max DESC LIMIT 3`,
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
    lateness: {
      min: lateness.min,
      p50: lateness.pct?.[0] ?? null,
      p90: lateness.pct?.[1] ?? null,
      p99: lateness.pct?.[2] ?? null,
      max: lateness.max,
    },
    transactions: levelOne.transactions,
    windows: windows.map((w) => ({ startS: w.start_s, rows: w.rows, p50: w.p50, p99: w.p99, max: w.max })),
    worstBatches: worstBatches.map((b) => ({
      executedAtS: b.executed_s,
      rows: b.rows,
      oldestDueS: b.oldest_due_s,
      maxLateness: b.max,
    })),
  };
}

// --- reporting --------------------------------------------------------------------------

function round1(value: number | null): number | null {
  return value === null ? null : Math.round(value * 10) / 10;
}

function formatSigned(value: number, digits = 1): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}

function resultLine(args: BenchArgs, m: Measurement): string {
  const result: Record<string, number | null> = {
    rate: args.rate,
    duration_s: args.durationS,
    workers: args.workers,
    executed: m.executed,
    duplicates: m.duplicates,
    missed: m.missed,
    p50_ms: round1(m.lateness.p50),
    p90_ms: round1(m.lateness.p90),
    p99_ms: round1(m.lateness.p99),
    max_ms: round1(m.lateness.max),
  };
  if (args.burst !== undefined) result.burst = args.burst;
  return JSON.stringify(result);
}

/** Which code was measured: other people commit while benches run. */
async function codeVersion(): Promise<string> {
  try {
    const head = (await runCommand('git', ['rev-parse', '--short', 'HEAD'])).trim();
    const dirty = (await runCommand('git', ['status', '--porcelain', '--', 'src', 'migrations', 'config'])).trim();
    return dirty ? `${head} + uncommitted changes in src/, migrations/ or config/` : head;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/**
 * The 1-minute load average before and after, against the core count: the workers,
 * Postgres and Redis share the machine, so anything else running (a test suite, a
 * type check) shows up as lateness. Flagged so that a noisy figure is not trusted.
 */
function describeLoad(before: number, after: number): string {
  const cores = availableParallelism();
  const busy = before > cores / 2 ? ' — the machine was already busy: expect noisy figures' : '';
  return `load average ${before.toFixed(2)} before, ${after.toFixed(2)} after, ${cores} cores${busy}`;
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
}

function printSummary(args: BenchArgs, m: Measurement, stats: WorkerStats, timings: Timings, context: Context): void {
  const what =
    args.burst !== undefined
      ? `burst of ${args.burst} escalations all due at T0`
      : `${m.total} escalations due over ${args.durationS} s at ${args.rate}/s`;
  const l = m.lateness;
  const ms = (value: number | null) => (value === null ? '-' : value.toFixed(1));
  progress(`---- ${what}, ${args.workers} worker(s)${args.analyze ? ', tables analyzed before T0' : ''}`);
  progress(`code: ${context.code}; ${context.load}`);
  progress(`executed ${m.executed}/${m.total}, missed ${m.missed}, duplicates ${m.duplicates}` +
    ` (ids paged twice ${m.duplicateEvents}, surplus level-2 rows ${m.surplusNextLevels})`);
  progress(`audit: ${m.escalatedEvents} escalated events, ${m.nextLevelsScheduled} level-2 rows scheduled, ` +
    `${m.nextLevelsExecuted} executed (must be 0)`);
  progress(`lateness ms: min ${ms(l.min)}  p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  max ${ms(l.max)}`);
  if (l.min !== null && l.min < 0) progress(`WARNING: an escalation executed ${(-l.min).toFixed(1)} ms EARLY`);
  if (m.transactions > 0) {
    progress(`${m.transactions} execution transactions, ${(m.executed / m.transactions).toFixed(1)} escalations each on average`);
  }
  for (const b of m.worstBatches) {
    progress(`  late batch: ${b.rows} rows executed at T0${formatSigned(b.executedAtS, 3)} s, oldest due T0${formatSigned(b.oldestDueS, 3)} s, ` +
      `waited up to ${ms(b.maxLateness)} ms`);
  }
  const slowest = stats.slowTicks.reduce((max, tick) => Math.max(max, tick.tookMs), 0);
  progress(`workers: ${stats.slowTicks.length} slow-tick warnings${stats.slowTicks.length ? ` (slowest ${slowest} ms)` : ''}, ` +
    `${stats.warnings} warnings, ${stats.errors} errors in all (log: ${WORKER_LOG})`);
  if (m.windows.length > 1) {
    progress('lateness by due time (window from T0: rows p50/p99/max ms):');
    for (const w of m.windows) {
      progress(`  +${String(w.startS).padStart(3)} s: ${String(w.rows).padStart(6)}  ${ms(w.p50)}/${ms(w.p99)}/${ms(w.max)}`);
    }
  }
  progress(`took ${timings.totalS.toFixed(1)} s: setup ${timings.setupS.toFixed(1)} s, seeding ${timings.seedS.toFixed(1)} s, ` +
    `run ${timings.runS.toFixed(1)} s, teardown ${timings.teardownS.toFixed(1)} s`);
}

// --- the run ------------------------------------------------------------------------------

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

async function runBench(args: BenchArgs, cleanup: Cleanup): Promise<void> {
  const startedAt = performance.now();
  // Read at the start: what the workers are about to load, and how busy the machine is.
  const code = await codeVersion();
  const [loadBefore = 0] = loadavg();
  const logger = makeLogger();
  const stack = await startStack(cleanup);
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
  const workers = startWorkers({ count: args.workers, databaseUrl, redisUrl: stack.redisUrl, keyPrefix }, stats, cleanup);
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
    throw new Error(`seeding finished ${Math.round(-marginMs)} ms after T0, so the first escalations were late ` +
      `before any worker could see them; rerun with a longer --lead (it was ${leadMs / 1000} s)`);
  }
  const seedS = seconds(seedStartedAt);
  progress(`seeded in ${seedS.toFixed(2)} s, ${(marginMs / 1000).toFixed(2)} s before T0`);

  const runStartedAt = performance.now();
  await waitForExecution(pool, clock, dueMs, args.graceMs);
  for (const worker of workers.filter((w) => !isRunning(w))) {
    progress(`WARNING: worker ${worker.index} exited during the run (code ${String(worker.child.exitCode)})`);
  }
  const runS = seconds(runStartedAt);

  // Stopped before measuring: a batch still in flight commits (or not) before the count,
  // so a duplicate it would cause is counted too.
  const teardownStartedAt = performance.now();
  progress('stopping the workers (SIGTERM)');
  await stopWorkers(workers);
  const measurement = await measure(pool, t0Ms, args.burst !== undefined ? 1 : windowSecondsFor(args.durationS));
  await cleanup.run();
  const teardownS = seconds(teardownStartedAt);

  const [loadAfter = 0] = loadavg();
  const timings = { setupS, seedS, runS, teardownS, totalS: seconds(startedAt) };
  printSummary(args, measurement, stats, timings, { code, load: describeLoad(loadBefore, loadAfter) });
  process.stdout.write(`${resultLine(args, measurement)}\n`);
}

/** About ten lines of per-window figures whatever the duration. */
function windowSecondsFor(durationS: number): number {
  return Math.max(1, Math.ceil(durationS / 10));
}

await runBenchmark((argv) => parseBenchArgs(argv), USAGE, runBench);
