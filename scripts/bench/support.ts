/**
 * What the two modes of scripts/bench.ts (the workers' load, and --api) share: their
 * private Postgres and Redis (scripts/stack.sh under .data/bench, or DATABASE_URL /
 * REDIS_URL), a fresh migrated database, worker processes as deployed, the cleanup
 * that undoes it all, progress on stderr (stdout is for the one result line), and
 * argument checks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type WriteStream, createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import winston from 'winston';
import { migrate } from '../../src/db/migrate.ts';
import { type Logger, createLogger } from '../../src/log/logger.ts';
import { type RedisClient, closeRedis, createRedis } from '../../src/redis/client.ts';
import type { RedisKeys } from '../../src/redis/keys.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DATA_DIR = '.data/bench';
export const WORKER_LOG = join(REPO_ROOT, DATA_DIR, 'workers.log');

/**
 * Settings the private Postgres starts with (scripts/stack.sh, KLAXON_PG_SETTINGS).
 * track_commit_timestamp: Postgres records when each transaction committed, which is
 * how the lateness at commit is measured (it takes a restart to change).
 * track_wal_io_timing: pg_stat_wal times the WAL writes and fsyncs, which is where a
 * commit's own time goes.
 */
const BENCH_PG_SETTINGS = 'track_commit_timestamp=on track_wal_io_timing=on';

export class UsageError extends Error {}

export function positive(flag: string, text: string | undefined, { integer = false } = {}): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${flag}: "${String(text)}" must be a positive ${integer ? 'whole ' : ''}number`);
  }
  return value;
}

// --- output and cleanup ---------------------------------------------------------------

export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** Everything the bench set up, undone in reverse order, once, whatever happened. */
export class Cleanup {
  private readonly steps: { name: string; undo: () => Promise<void> }[] = [];
  private running: Promise<void> | undefined;

  add(name: string, undo: () => Promise<void>): void {
    this.steps.push({ name, undo });
  }

  run(): Promise<void> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<void> {
    for (const step of this.steps.reverse()) {
      try {
        await step.undo();
      } catch (error) {
        // Keep going: a failed DROP DATABASE must not leave the stack running.
        progress(`cleanup: ${step.name} failed: ${(error as Error).message}`);
      }
    }
  }
}

export function makeLogger(): Logger {
  // stdout is reserved for the result line: every level of the bench's own logger goes to stderr.
  const levels = ['error', 'warn', 'info', 'debug'];
  return createLogger({
    level: 'warn',
    format: 'pretty',
    service: 'bench',
    transports: [new winston.transports.Console({ stderrLevels: levels })],
  });
}

// --- the stack, the database, Redis ---------------------------------------------------

export interface Stack {
  databaseUrl: string;
  redisUrl: string;
  /** Whether Postgres records commit timestamps (track_commit_timestamp); checked only when asked for. */
  commitTimestamps: boolean;
}

/** Runs a command from the repository root; resolves with its stdout, its stderr goes to ours. */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit code ${String(code)}`})`));
    });
  });
}

/**
 * Given URLs are used as they are; otherwise stack.sh starts (or reuses) the private
 * servers. With `commitTimestamps`, checks that Postgres records commit timestamps
 * (track_commit_timestamp, which the lateness at commit is read from): a private
 * server running without them (started before, by something else: stack.sh reuses a
 * running server) is restarted with them; an existing server (DATABASE_URL) is left
 * as it is, and the figures at commit are unavailable: said on stderr.
 */
export async function startStack(cleanup: Cleanup, { commitTimestamps = false } = {}): Promise<Stack> {
  const { DATABASE_URL, REDIS_URL } = process.env;
  let urls: { databaseUrl: string; redisUrl: string };
  if (DATABASE_URL && REDIS_URL) {
    mkdirSync(join(REPO_ROOT, DATA_DIR), { recursive: true });
    urls = { databaseUrl: DATABASE_URL, redisUrl: REDIS_URL };
  } else {
    // Registered before starting: a start that fails half-way (Postgres up, Redis not) is undone too.
    cleanup.add('stop the stack', async () => {
      progress('stopping the stack');
      await runStackCommand('stop');
    });
    progress(`starting Postgres and Redis under ${DATA_DIR}`);
    urls = await launchStack();
  }
  if (!commitTimestamps) return { ...urls, commitTimestamps: false };
  if (await recordsCommitTimestamps(urls.databaseUrl)) return { ...urls, commitTimestamps: true };
  if (!DATABASE_URL) {
    progress(`the Postgres under ${DATA_DIR} runs without track_commit_timestamp: restarting it`);
    await runStackCommand('stop');
    urls = await launchStack();
    if (await recordsCommitTimestamps(urls.databaseUrl)) return { ...urls, commitTimestamps: true };
  }
  progress(
    'WARNING: track_commit_timestamp is off on this Postgres (SHOW track_commit_timestamp): the lateness at ' +
      'commit is unavailable, p50_ms … max_ms are null and only the pre-commit figures are measured. ' +
      'Turn it on (postgresql.conf or ALTER SYSTEM, and a restart) to get them.',
  );
  return { ...urls, commitTimestamps: false };
}

/** scripts/stack.sh start: the URLs it prints. */
async function launchStack(): Promise<{ databaseUrl: string; redisUrl: string }> {
  const stdout = await runStackCommand('start');
  const urls = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^(DATABASE_URL|REDIS_URL)=(.+)$/.exec(line);
    if (match?.[1] && match[2]) urls.set(match[1], match[2]);
  }
  const databaseUrl = urls.get('DATABASE_URL');
  const redisUrl = urls.get('REDIS_URL');
  if (!databaseUrl || !redisUrl) throw new Error('scripts/stack.sh start did not print DATABASE_URL and REDIS_URL');
  return { databaseUrl, redisUrl };
}

function runStackCommand(command: 'start' | 'stop'): Promise<string> {
  return runCommand('bash', ['scripts/stack.sh', command, DATA_DIR], {
    ...process.env,
    KLAXON_PG_PORT: process.env.KLAXON_BENCH_PG_PORT ?? '54359',
    KLAXON_REDIS_PORT: process.env.KLAXON_BENCH_REDIS_PORT ?? '63829',
    // Settings of one's own (KLAXON_PG_SETTINGS) come last, so they win.
    KLAXON_PG_SETTINGS: `${BENCH_PG_SETTINGS} ${process.env.KLAXON_PG_SETTINGS ?? ''}`.trim(),
  });
}

async function recordsCommitTimestamps(databaseUrl: string): Promise<boolean> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ track_commit_timestamp: string }>('SHOW track_commit_timestamp');
    return rows[0]?.track_commit_timestamp === 'on';
  });
}

export async function withClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'klaxon-bench-admin' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated database, dropped by the cleanup; returns its URL. */
export async function createBenchDatabase(adminUrl: string, logger: Logger, cleanup: Cleanup): Promise<string> {
  const name = `klaxon_bench_${randomBytes(4).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  cleanup.add(`drop database ${name}`, async () => {
    // FORCE: a worker killed on an error may still hold a connection for a moment.
    await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migrate(url.toString(), logger);
  progress(`database ${name} created and migrated`);
  return url.toString();
}

export async function connectRedis(redisUrl: string, keys: RedisKeys, logger: Logger, cleanup: Cleanup): Promise<RedisClient> {
  const redis = createRedis({ url: redisUrl, commandTimeoutMs: 10_000, logger, name: 'klaxon-bench' });
  await redis.connect();
  cleanup.add('delete the Redis keys and disconnect', async () => {
    // The private Redis keeps its AOF between runs, and a shared one must stay tidy.
    await redis.del(Object.values(keys));
    await closeRedis(redis);
  });
  return redis;
}

// --- processes as deployed: workers (and the API, scripts/bench/api.ts) -------------------

const WORKER_READY_TIMEOUT_MS = 60_000;
const PROCESS_STOP_TIMEOUT_MS = 20_000;

/**
 * Extra Node options for the processes the bench starts (workers, the API), split on
 * spaces, from KLAXON_BENCH_NODE_ARGS: e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to
 * see where their time goes (NODE_OPTIONS refuses --cpu-prof). Each process writes
 * its profile when it exits, which the bench's SIGTERM lets it do.
 */
const EXTRA_NODE_ARGS = (process.env.KLAXON_BENCH_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');

/**
 * `<script>` run as npm start runs it (scripts/node-process: node with tsx and the
 * deployed Node options) from the repository root, each line of its stdout and stderr
 * to `onLine`. The launcher execs node, so the child's pid is node's (the CPU figures
 * read it).
 */
export function spawnAsDeployed(script: string, env: NodeJS.ProcessEnv, onLine: (line: string) => void): ChildProcess {
  const args = [...EXTRA_NODE_ARGS, script];
  const child = spawn(join(REPO_ROOT, 'scripts', 'node-process'), args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  readLines(child.stdout, onLine);
  readLines(child.stderr, onLine);
  return child;
}

function readLines(stream: Readable | null, onLine: (line: string) => void): void {
  if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
}

export interface LogLine {
  level?: unknown;
  message?: unknown;
  took_ms?: unknown;
  claimed?: unknown;
}

/** A JSON log line (LOG_FORMAT=json), or undefined for anything else (a crash's stack trace). */
export function parseLogLine(line: string): LogLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(line) as unknown;
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** A log file under .data/bench, closed by the cleanup. */
export function openLog(path: string, cleanup: Cleanup): WriteStream {
  const log = createWriteStream(path, { flags: 'w' });
  cleanup.add(`close ${path}`, () => new Promise<void>((resolve) => log.end(resolve)));
  return log;
}

export const TIMED_OUT = Symbol('timed out');

/** The promise, or TIMED_OUT after `ms`; the timer is cleared either way (a pending timer would keep the bench alive). */
export async function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
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

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM (finish what is in flight, exit), then SIGKILL if that takes too long. */
export async function stopProcess(name: string, child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (!isRunning(child)) return;
  child.kill('SIGTERM');
  if ((await raceTimeout(exited, PROCESS_STOP_TIMEOUT_MS)) === TIMED_OUT) {
    progress(`${name} did not stop within ${PROCESS_STOP_TIMEOUT_MS / 1000} s: killing it`);
    child.kill('SIGKILL');
    await exited;
  }
}

/** Settles when the process exits (registered at once: an exit before the first await is not missed). */
export function exitOf(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

/** CPU seconds a process has used so far (user + system), from /proc; 0 once it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return 0;
  }
}

/**
 * The pid of the Redis server, for its CPU (cpuSeconds): the bench's own or a local
 * REDIS_URL's. A remote server's pid may be some other process here, so the pid
 * counts only if this host's process of that number is a Redis server; otherwise
 * undefined, and the CPU is 0. Its children (an AOF rewrite) are not counted.
 */
export async function redisServerPid(redis: RedisClient): Promise<number | undefined> {
  const match = /^process_id:(\d+)/m.exec(await redis.info('server'));
  if (match?.[1] === undefined) return undefined;
  const pid = Number(match[1]);
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('redis-server') ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The CPU seconds the worker processes have used so far, all together. */
export function workersCpuSeconds(workers: readonly WorkerProcess[]): number {
  return workers.reduce((sum, worker) => sum + cpuSeconds(worker.child.pid), 0);
}

export interface PostgresSnapshot {
  /** CPU seconds so far of each server process (backends, WAL writer, checkpointer...), by pid. */
  cpu: Map<number, number>;
  /** Transactions committed in the bench's database. */
  commits: number;
  /** The cluster's WAL fsyncs and their time (pg_stat_wal, Postgres 14-17; undefined without it). */
  wal: { syncs: number; ms: number } | undefined;
}

/**
 * Where Postgres stands: its processes' CPU, its commits, its WAL fsyncs. Each commit
 * waits for the fsync that covers its WAL, so commits per event and the fsync time say
 * what durability costs here, beside the CPU. Postgres runs on this host (the bench's
 * own, or DATABASE_URL's: /proc then shows nothing of a remote one, and the CPU is 0).
 */
/** What the bench's Postgres has used and committed so far (compared by postgresCpu and describePostgres). */
export async function postgresSnapshot(databaseUrl: string): Promise<PostgresSnapshot> {
  return withClient(databaseUrl, async (client) => {
    const { rows: processes } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity');
    const { rows: database } = await client.query<{ commits: string }>(
      'SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = current_database()',
    );
    let wal: PostgresSnapshot['wal'];
    try {
      const { rows } = await client.query<{ syncs: string; ms: number }>('SELECT wal_sync AS syncs, wal_sync_time AS ms FROM pg_stat_wal');
      wal = rows[0] ? { syncs: Number(rows[0].syncs), ms: Number(rows[0].ms) } : undefined;
    } catch {
      wal = undefined;
    }
    return { cpu: new Map(processes.map(({ pid }) => [pid, cpuSeconds(pid)])), commits: Number(database[0]?.commits ?? 0), wal };
  });
}

/** CPU seconds Postgres used between two snapshots (a process that started in between counts from 0). */
export function postgresCpu(before: PostgresSnapshot, after: PostgresSnapshot): number {
  let sum = 0;
  for (const [pid, seconds] of after.cpu) sum += seconds - (before.cpu.get(pid) ?? 0);
  return sum;
}

/** The Postgres line of a report: CPU, commits and WAL flushes per unit of work (`per`: "an event", "a request"). */
export function describePostgres(before: PostgresSnapshot, after: PostgresSnapshot, units: number, per: string): string {
  const commits = after.commits - before.commits;
  const cpu = postgresCpu(before, after);
  let wal = '';
  if (before.wal && after.wal) {
    const syncs = after.wal.syncs - before.wal.syncs;
    wal =
      `; ${syncs} WAL fsyncs (${(syncs / units).toFixed(2)} ${per}), ${((after.wal.ms - before.wal.ms) / Math.max(1, syncs)).toFixed(2)} ms each ` +
      '(0 when track_wal_io_timing is off)';
  }
  return (
    `Postgres: ${((cpu / units) * 1000).toFixed(2)} ms of CPU ${per}; ${commits} commits (${(commits / units).toFixed(2)} ${per}, ` +
    `the bench's own reads included)${wal}`
  );
}

export interface WorkerProcess {
  index: number;
  child: ChildProcess;
  /** Settles when the worker logged "worker started"; rejects if it exits before. */
  ready: Promise<void>;
  exited: Promise<void>;
}

/** What the workers said that the summaries report. */
export interface WorkerStats {
  slowTicks: { worker: number; tookMs: number; claimed: number }[];
  warnings: number;
  errors: number;
}

export interface WorkerSetup {
  count: number;
  databaseUrl: string;
  redisUrl: string;
  keyPrefix: string;
  /** ESCALATION_LEVELS, as the API that scheduled the escalations has it. */
  escalationLevels: string;
}

function spawnWorker(index: number, env: NodeJS.ProcessEnv, log: WriteStream, stats: WorkerStats): WorkerProcess {
  let markReady: () => void = () => undefined;
  const child = spawnAsDeployed('src/main/worker.ts', env, (line) => {
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
  });
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    child.once('exit', (code, signal) =>
      reject(new Error(`worker ${index} exited (${signal ?? `code ${String(code)}`}) before it was ready; see ${WORKER_LOG}`)),
    );
  });
  ready.catch(() => undefined); // awaited by waitForWorkers; an exit after readiness is reported there
  return { index, child, ready, exited: exitOf(child) };
}

/** W worker processes (`src/main/worker.ts`, as deployed), stopped by the cleanup; their logs go to WORKER_LOG. */
export function startWorkers(setup: WorkerSetup, stats: WorkerStats, cleanup: Cleanup): WorkerProcess[] {
  const log = openLog(WORKER_LOG, cleanup);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: setup.databaseUrl,
    REDIS_URL: setup.redisUrl,
    REDIS_KEY_PREFIX: setup.keyPrefix,
    ESCALATION_LEVELS: setup.escalationLevels,
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

/** SIGTERM (finish the batch in flight, settle its claims, exit), then SIGKILL if that takes too long. */
export async function stopWorkers(workers: WorkerProcess[]): Promise<void> {
  await Promise.all(workers.map((worker) => stopProcess(`worker ${worker.index}`, worker.child, worker.exited)));
}

/**
 * Every worker logged "worker started", and the first reconciliation set the index
 * marker: seeding before that would send the first claim down the index-repair path,
 * which is not what is being measured.
 */
export async function waitForWorkers(workers: WorkerProcess[], redis: RedisClient, keys: RedisKeys): Promise<void> {
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

// --- what the summaries say about the run ------------------------------------------------

export function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** Which code was measured (other people commit while benches run), and a launcher setting that is not the default. */
export async function codeVersion(): Promise<string> {
  const poolSize = process.env.KLAXON_V8_POOL_SIZE ? ` with KLAXON_V8_POOL_SIZE=${JSON.stringify(process.env.KLAXON_V8_POOL_SIZE)}` : '';
  try {
    const head = (await runCommand('git', ['rev-parse', '--short', 'HEAD'])).trim();
    // What the measured processes run: their code, schema and defaults, and how they are launched.
    const dirty = (await runCommand('git', ['status', '--porcelain', '--', 'src', 'migrations', 'config', 'scripts/node-process'])).trim();
    return `${dirty ? `${head} + uncommitted changes in src/, migrations/, config/ or scripts/node-process` : head}${poolSize}`;
  } catch {
    return `unknown (not a git checkout)${poolSize}`;
  }
}

/**
 * The 1-minute load average before and after, against the core count: the workers,
 * Postgres and Redis share the machine, so anything else running (a test suite, a
 * type check) shows up as lateness. Flagged so that a noisy figure is not trusted.
 */
export function describeLoad(before: number, after: number): string {
  const cores = availableParallelism();
  const busy = before > cores / 2 ? ' — the machine was already busy: expect noisy figures' : '';
  return `load average ${before.toFixed(2)} before, ${after.toFixed(2)} after, ${cores} cores${busy}${describeSteal()}`;
}

/** The CPU time counters of /proc/stat's `cpu` line (Linux; null elsewhere): all of it, and what the hypervisor stole. */
function cpuTicks(): { total: number; steal: number } | null {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is counted in user already)
    if (fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return null;
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
  } catch {
    return null;
  }
}

const TICKS_AT_START = cpuTicks();

/**
 * On a virtual machine, the share of CPU time the hypervisor gave to others while
 * this bench ran (its setup included): a run with several percent stolen has noisier
 * latencies, whatever the code did.
 */
function describeSteal(): string {
  const now = cpuTicks();
  if (!now || !TICKS_AT_START || now.total <= TICKS_AT_START.total) return '';
  const stolen = ((now.steal - TICKS_AT_START.steal) / (now.total - TICKS_AT_START.total)) * 100;
  return `; ${stolen.toFixed(1)} % of the CPU time stolen by the hypervisor since the bench started`;
}

/**
 * Runs a benchmark: its arguments parsed (exit 2 with the usage when they are wrong),
 * everything it set up undone whatever happens (a first Ctrl-C cleans up, a second
 * leaves at once), exit code 1 when it could not run.
 */
export async function runBenchmark<A>(parse: (argv: string[]) => A, usage: string, run: (args: A, cleanup: Cleanup) => Promise<void>): Promise<void> {
  let args: A;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${usage}\n`);
    process.exit(2);
  }
  const cleanup = new Cleanup();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130); // a second Ctrl-C: leave at once
    interrupted = true;
    progress(`${signal}: cleaning up (again to exit at once)`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await run(args, cleanup);
  } catch (error) {
    progress(`error: ${(error as Error).message}`);
    process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
}
