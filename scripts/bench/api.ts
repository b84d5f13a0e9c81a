/**
 * The API mode of the benchmark: `npm run -s bench -- --api R --duration S
 * [--connections C] [--workers W]` (scripts/bench.ts parses the arguments).
 *
 * One API process (`src/main/api.ts`, as deployed, NODE_ENV=production) on a fresh
 * database of the bench's private Postgres and Redis (scripts/bench/support.ts), with
 * W worker processes alongside (1 by default; 0: the API alone), and an open-loop
 * load: R requests a second for S seconds, each `POST /incidents` with
 * `escalate: true` (open, freeze the policy, schedule level 1, audit row: one
 * transaction), sent on at most C keep-alive connections (64 by default; the client:
 * scripts/bench/http-client.ts). The API and the workers run the default timetable
 * (5m,15m,60m), so nothing falls due during the run: the workers are idle, as they
 * are most of the time in production, and take their share of the machine. Latency
 * runs from the instant a request was due to be sent to the end of its answer, so a
 * saturated API cannot hide its queue (no coordinated omission). Every 201 was
 * committed before it was answered; the API is stopped (SIGTERM: it writes the queued
 * audit rows of refused requests first) before the audit rows and incidents are
 * counted back from Postgres (audit_rows: those of the 201s, each written in the
 * transaction that created the incident). client_cpu_percent: this process' own CPU
 * while it sends, which the API shares the machine with; postgres_cpu_percent: the
 * server processes' (stderr: per request, with its commits and WAL flushes).
 *
 * stdout gets one JSON line:
 *   {"api","duration_s","workers","connections","sent","statuses","errors","p50_ms","p90_ms","p99_ms","max_ms",
 *    "achieved_per_s","api_cpu_percent","workers_cpu_percent","client_cpu_percent","postgres_cpu_percent","audit_rows","created",
 *    "commit_wal_wait_max_ms"}
 * statuses: answers by HTTP status (0: no answer, the connection failed); errors:
 * refusals by "status code" (the problem's `code`, or for 0 the socket's error code),
 * e.g. {"503 overloaded": 12, "0 ECONNRESET": 3}.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { type AddressInfo, createServer } from 'node:net';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { generateToken } from '../../src/auth/token-format.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { HttpClient } from './http-client.ts';
import {
  type Cleanup,
  DATA_DIR,
  REPO_ROOT,
  WORKER_LOG,
  type WorkerStats,
  codeVersion,
  connectRedis,
  cpuSeconds,
  createBenchDatabase,
  describeLoad,
  describePostgres,
  exitOf,
  makeLogger,
  openLog,
  parseLogLine,
  postgresCpu,
  postgresSnapshot,
  progress,
  spawnAsDeployed,
  startStack,
  startWorkers,
  stopProcess,
  waitForWorkers,
  withClient,
  workersCpuSeconds,
} from './support.ts';
import { describeWalWaits, longestWalWaitMs, watchWalWaits } from './wal-waits.ts';

export interface ApiBenchArgs {
  /** Requests a second. */
  rate: number;
  durationS: number;
  connections: number;
  workers: number;
}

export const API_LOG = join(REPO_ROOT, DATA_DIR, 'api.log');
const READY_TIMEOUT_MS = 60_000;
/** The default timetable: nothing the run schedules falls due during it. */
const ESCALATION_LEVELS = '5m,15m,60m';

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ApiProcess {
  child: ChildProcess;
  exited: Promise<void>;
  stop: () => Promise<void>;
}

/** The API, its log in .data/bench/api.log (its warnings and errors on stderr too), ready when /healthz answers. */
async function startApi(env: NodeJS.ProcessEnv, baseUrl: string, cleanup: Cleanup): Promise<ApiProcess> {
  const log = openLog(API_LOG, cleanup);
  const child = spawnAsDeployed('src/main/api.ts', env, (line) => {
    log.write(`${line}\n`);
    const entry = parseLogLine(line);
    if (!entry || entry.level === 'warn' || entry.level === 'error') process.stderr.write(`api: ${line}\n`);
  });
  const exited = exitOf(child);
  const stop = () => stopProcess('the API', child, exited);
  cleanup.add('stop the API', stop);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ready = await fetch(`${baseUrl}/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (ready) return { child, exited, stop };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the API did not start; see ${API_LOG}`);
    await sleep(100);
  }
}

interface Answer extends Timed {
  status: number;
  code: string | undefined;
}

/** The problem's `code` of a refusal, if its body says one. */
function problemCode(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { code?: unknown };
    return typeof parsed.code === 'string' ? parsed.code : undefined;
  } catch {
    return undefined;
  }
}

async function send(client: HttpClient, request: Buffer, dueAt: number, startedAt: number): Promise<Answer> {
  const { status, body, code, sentAt } = await client.send(request);
  const latencyMs = performance.now() - dueAt;
  return {
    status,
    code: status === 0 ? code : status >= 400 ? problemCode(body) : undefined,
    dueMs: dueAt - startedAt,
    latencyMs,
    queuedMs: (sentAt ?? dueAt + latencyMs) - dueAt,
  };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** An answer's timing: when it was due (from the start of the load), its latency, and how much of it was spent waiting here for a connection. */
export interface Timed {
  dueMs: number;
  latencyMs: number;
  /** All of the latency when it never got a connection. */
  queuedMs: number;
}

/** A part of the latency measured elsewhere (in Postgres), by when its request was due. */
export interface LatencyPart {
  label: string;
  samples: { dueMs: number; ms: number }[];
}

/**
 * The figures both HTTP modes' JSON lines share, in their order there: the latency
 * percentiles from the due instant, the rate served, and each process' CPU as a
 * percent of one core over the load.
 */
export function servedFigures(
  answers: readonly Timed[],
  served: number,
  elapsedS: number,
  cpuS: { api: number; workers: number; client: number; postgres: number },
) {
  const latencies = answers.map((answer) => answer.latencyMs).sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  const percent = (seconds: number) => Math.round((seconds / elapsedS) * 100);
  return {
    p50_ms: round(percentile(latencies, 50)),
    p90_ms: round(percentile(latencies, 90)),
    p99_ms: round(percentile(latencies, 99)),
    max_ms: round(latencies.at(-1) ?? 0),
    achieved_per_s: Math.round(served / elapsedS),
    api_cpu_percent: percent(cpuS.api),
    workers_cpu_percent: percent(cpuS.workers),
    client_cpu_percent: percent(cpuS.client),
    postgres_cpu_percent: percent(cpuS.postgres),
  };
}

export function latencySummary(latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  const f = (p: number) => percentile(sorted, p).toFixed(1);
  return `p50 ${f(50)}  p90 ${f(90)}  p99 ${f(99)}  max ${(sorted.at(-1) ?? 0).toFixed(1)}`;
}

/**
 * stderr lines of the latency by when the requests were due (ten windows): a queue
 * that builds up shows as a rising line, another process' burst as a bump, a cold
 * start as the first windows. Each adds the p99 of the wait here for a free
 * connection (the API answers the ones in flight too slowly), and of `parts`.
 */
export function progressByDueTime(answers: readonly Timed[], durationS: number, what: string, parts: readonly LatencyPart[] = []): void {
  const windowMs = Math.max(1, Math.ceil(durationS / 10)) * 1000;
  // (An alert's timestamp has whole milliseconds: the first may read a fraction before the start.)
  const windowOf = (dueMs: number) => Math.floor(Math.max(0, dueMs) / windowMs) * windowMs;
  const windows = new Map<number, { latency: number[]; queued: number[]; parts: number[][] }>();
  const windowAt = (dueMs: number) => {
    const start = windowOf(dueMs);
    let window = windows.get(start);
    if (!window) windows.set(start, (window = { latency: [], queued: [], parts: parts.map(() => []) }));
    return window;
  };
  for (const answer of answers) {
    const window = windowAt(answer.dueMs);
    window.latency.push(answer.latencyMs);
    window.queued.push(answer.queuedMs);
  }
  parts.forEach((part, i) => {
    for (const sample of part.samples) windowAt(sample.dueMs).parts[i]?.push(sample.ms);
  });
  const p99 = (list: number[]) =>
    list.length === 0
      ? '-'
      : percentile(
          [...list].sort((a, b) => a - b),
          99,
        ).toFixed(0);
  for (const [start, window] of [...windows].sort(([a], [b]) => a - b)) {
    const extra = parts.map((part, i) => `, ${part.label} ${p99(window.parts[i] ?? [])}`).join('');
    progress(
      `  due at +${String(start / 1000).padStart(3)} s: ${String(window.latency.length).padStart(5)} ${what}, ${latencySummary(window.latency)}; ` +
        `p99 queued here ${p99(window.queued)}${extra}`,
    );
  }
}

/**
 * What both HTTP modes (--api, --intake) drive: the bench's private stack, a fresh
 * database, `workers` idle workers, one API process as deployed (NODE_ENV=production,
 * an admin token of its own) with `env` added to its environment, and the keep-alive
 * client on at most `connections` connections.
 */
export interface ApiRig {
  /** The code measured, and the load average before the run. */
  code: string;
  loadBefore: number;
  databaseUrl: string;
  baseUrl: string;
  token: string;
  api: ApiProcess;
  client: HttpClient;
  stats: WorkerStats;
  /** Starts counting CPU: its result says the seconds the API, the workers and this client used since. */
  cpuMeter: () => () => { apiS: number; workersS: number; clientS: number };
}

export async function startApiRig(args: { workers: number; connections: number }, cleanup: Cleanup, env: Record<string, string>): Promise<ApiRig> {
  const code = await codeVersion();
  const [loadBefore = 0] = loadavg();
  const logger = makeLogger();
  const stack = await startStack(cleanup);
  const databaseUrl = await createBenchDatabase(stack.databaseUrl, logger, cleanup);
  const keyPrefix = `bench:${randomBytes(4).toString('hex')}:`;
  const keys = redisKeys(keyPrefix);
  const redis = await connectRedis(stack.redisUrl, keys, logger, cleanup);

  const stats: WorkerStats = { slowTicks: [], warnings: 0, errors: 0 };
  progress(`starting ${args.workers} worker(s), key prefix ${keyPrefix}`);
  const workerSetup = { count: args.workers, databaseUrl, redisUrl: stack.redisUrl, keyPrefix, escalationLevels: ESCALATION_LEVELS };
  const workers = startWorkers(workerSetup, stats, cleanup);
  if (workers.length > 0) await waitForWorkers(workers, redis, keys);

  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const token = generateToken().token;
  const api = await startApi(
    {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      REDIS_URL: stack.redisUrl,
      REDIS_KEY_PREFIX: keyPrefix,
      ESCALATION_LEVELS,
      PORT: String(port),
      KLAXON_ADMIN_TOKEN: token,
      LOG_LEVEL: process.env.KLAXON_BENCH_API_LOG_LEVEL ?? 'warn',
      LOG_FORMAT: 'json',
      // The bench measures the API, not the per-token limit.
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_BURST: '1000000',
      ...env,
    },
    baseUrl,
    cleanup,
  );
  const client = new HttpClient(baseUrl, args.connections);
  cleanup.add('close the connections', () => Promise.resolve(client.close()));
  const cpuMeter = () => {
    const clientBefore = process.cpuUsage();
    const apiBefore = cpuSeconds(api.child.pid);
    const workersBefore = workersCpuSeconds(workers);
    return () => {
      const clientUsage = process.cpuUsage(clientBefore);
      return {
        apiS: cpuSeconds(api.child.pid) - apiBefore,
        workersS: workersCpuSeconds(workers) - workersBefore,
        clientS: (clientUsage.user + clientUsage.system) / 1e6,
      };
    };
  };
  return { code, loadBefore, databaseUrl, baseUrl, token, api, client, stats, cpuMeter };
}

export async function runApiBench(args: ApiBenchArgs, cleanup: Cleanup): Promise<void> {
  const { code, loadBefore, databaseUrl, token, api, client, stats, cpuMeter } = await startApiRig(args, cleanup, {});
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

  const total = Math.round(args.rate * args.durationS);
  const intervalMs = 1000 / args.rate;
  progress(
    `${total} requests at ${args.rate}/s for ${args.durationS} s on at most ${args.connections} connections, ` + `${args.workers} idle worker(s) alongside`,
  );
  const cpuUsed = cpuMeter();
  const postgresBefore = await postgresSnapshot(databaseUrl);
  const walWatch = await watchWalWaits(databaseUrl);
  const startedAt = performance.now() + 100;
  // The wall-clock time of the first due instant: request i ("bench i") was due intervalMs * i later.
  const wallStart = Date.now() + (startedAt - performance.now());
  const answers: Promise<Answer>[] = [];
  for (let i = 0; i < total; i += 1) {
    const dueAt = startedAt + i * intervalMs;
    const wait = dueAt - performance.now();
    if (wait > 1) await sleep(wait);
    answers.push(send(client, client.request('POST', '/incidents', headers, JSON.stringify({ title: `bench ${i}`, escalate: true })), dueAt, startedAt));
  }
  const done = await Promise.all(answers);
  const elapsedS = (performance.now() - startedAt) / 1000;
  const { apiS: apiCpu, workersS: workerCpu, clientS: clientCpu } = cpuUsed();
  const walWaits = await walWatch.stop();

  // Before the API stops: its connections' backends exit with it.
  const postgresAfter = await postgresSnapshot(databaseUrl);

  // The audit rows of refused requests are written from a queue: the API writes what
  // is left of it before it exits.
  progress('stopping the API (SIGTERM)');
  await api.stop();
  const counted = await withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ audit: number; audit_refused: number; created: number; pending: number; executed: number }>(
      `SELECT (SELECT count(*)::int FROM audit_log WHERE method = 'POST' AND status = 201) AS audit,
              (SELECT count(*)::int FROM audit_log WHERE method = 'POST' AND status <> 201) AS audit_refused,
              (SELECT count(*)::int FROM incidents) AS created,
              (SELECT count(*)::int FROM escalations WHERE status = 'PENDING') AS pending,
              (SELECT count(*)::int FROM escalations WHERE status = 'EXECUTED') AS executed`,
    );
    return rows[0] ?? { audit: 0, audit_refused: 0, created: 0, pending: 0, executed: 0 };
  });

  const serverSide = await withClient(databaseUrl, async (client) => {
    const { rows: setting } = await client.query<{ on: string }>("SELECT current_setting('track_commit_timestamp') AS on");
    const commitTime = setting[0]?.on === 'on' ? 'pg_xact_commit_timestamp(xmin)' : 'NULL::timestamptz';
    const { rows } = await client.query<{ n: number; created_at: Date; committed_at: Date | null }>(
      `SELECT substr(title, 7)::int AS n, created_at, ${commitTime} AS committed_at FROM incidents WHERE title ~ '^bench [0-9]+$'`,
    );
    return rows.map((row) => {
      const dueMs = row.n * intervalMs;
      return {
        dueMs,
        toCommandMs: row.created_at.getTime() - (wallStart + dueMs),
        toCommitMs: row.committed_at ? row.committed_at.getTime() - row.created_at.getTime() : null,
      };
    });
  });

  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const answer of done) {
    statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    if (answer.status === 0 || answer.status >= 400) {
      const key = `${answer.status} ${answer.code ?? 'unknown'}`;
      errors[key] = (errors[key] ?? 0) + 1;
    }
  }
  const result = {
    api: args.rate,
    duration_s: args.durationS,
    workers: args.workers,
    connections: args.connections,
    sent: total,
    statuses,
    errors,
    ...servedFigures(done, statuses['201'] ?? 0, elapsedS, {
      api: apiCpu,
      workers: workerCpu,
      client: clientCpu,
      postgres: postgresCpu(postgresBefore, postgresAfter),
    }),
    audit_rows: counted.audit,
    created: counted.created,
    commit_wal_wait_max_ms: longestWalWaitMs(walWaits),
  };
  const created201 = statuses['201'] ?? 0;
  const [loadAfter = 0] = loadavg();
  progress(`---- API: ${total} POST /incidents at ${args.rate}/s for ${args.durationS} s, ${args.workers} idle worker(s)`);
  progress(`code: ${code}; ${describeLoad(loadBefore, loadAfter)}`);
  progress(
    `${result.achieved_per_s}/s created; latency from the due instant p50 ${result.p50_ms} ms, p90 ${result.p90_ms} ms, ` +
      `p99 ${result.p99_ms} ms, max ${result.max_ms} ms; statuses ${JSON.stringify(statuses)}`,
  );
  // Where the time went: from the due instant to the command's clock reading (incidents.created_at:
  // the queue here, the socket, the event loop, auth, the rate limit, parsing), and from there to
  // the COMMIT (pg_xact_commit_timestamp; the wait for a batch's statement included).
  progressByDueTime(done, args.durationS, 'requests', [
    { label: 'due to command', samples: serverSide.map((row) => ({ dueMs: row.dueMs, ms: row.toCommandMs })) },
    {
      label: 'command to COMMIT',
      samples: serverSide.flatMap((row) => (row.toCommitMs === null ? [] : [{ dueMs: row.dueMs, ms: row.toCommitMs }])),
    },
  ]);
  progress(
    `CPU: API ${result.api_cpu_percent} %, workers ${result.workers_cpu_percent} % in all, ` +
      `this client ${result.client_cpu_percent} % (it shares the machine)`,
  );
  progress(describePostgres(postgresBefore, postgresAfter, total, 'a request'));
  progress(describeWalWaits(walWaits, wallStart));
  const agree = counted.audit === created201 && counted.created === created201;
  progress(
    `${agree ? '' : 'WARNING: '}audit: ${counted.audit} rows of 201s for ${created201} answered 201 and ${counted.created} incidents ` +
      `(${agree ? 'they agree' : 'they differ'}), ${counted.audit_refused} rows of refused requests; ` +
      `${counted.pending} escalations pending, ${counted.executed} executed (0: nothing was due)`,
  );
  if (args.workers > 0) {
    progress(`workers: ${stats.warnings} warnings, ${stats.errors} errors (log: ${WORKER_LOG}); API log: ${API_LOG}`);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
