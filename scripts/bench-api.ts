/**
 * The API benchmark: `npm run -s bench:api -- --rate R --duration S [--connections C]`.
 * It measures, it never fails CI (exit code 1 only when it could not run).
 *
 * One API process (`src/main/api.ts`, as deployed, NODE_ENV=production) on a fresh
 * database of the benchmarks' private Postgres and Redis (scripts/bench/support.ts),
 * and an open-loop load: R requests a second for S seconds, each `POST /incidents`
 * with `escalate: true` (open, freeze the policy, schedule level 1, audit row: one
 * transaction), sent on at most C keep-alive connections. Latency runs from the
 * instant a request was due to be sent to the end of its answer, so a saturated API
 * cannot hide its queue (no coordinated omission). Every 201 was committed before it
 * was answered; the audit rows are counted back from Postgres.
 *
 * stdout gets one JSON line:
 *   {"rate","duration_s","connections","sent","statuses","codes_503","p50_ms","p90_ms","p99_ms","max_ms",
 *    "achieved_per_s","api_cpu_percent","audit_rows","created"}
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { generateToken } from '../src/auth/token-format.ts';
import { Cleanup, REPO_ROOT, createBenchDatabase, makeLogger, positive, progress, runBenchmark, startStack } from './bench/support.ts';

interface ApiBenchArgs {
  rate: number;
  durationS: number;
  connections: number;
}

const USAGE = 'usage: npm run -s bench:api -- --rate R --duration S [--connections C]';
const READY_TIMEOUT_MS = 60_000;

function parseApiBenchArgs(argv: string[]): ApiBenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: { rate: { type: 'string', default: '200' }, duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '64' } },
    strict: true,
  });
  return {
    rate: positive('--rate', values.rate),
    durationS: positive('--duration', values.duration),
    connections: positive('--connections', values.connections, { integer: true }),
  };
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** CPU seconds a process has used so far (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

async function startApi(env: NodeJS.ProcessEnv, baseUrl: string, cleanup: Cleanup): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/api.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  cleanup.add('stop the API', async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ready = await fetch(`${baseUrl}/healthz`).then((res) => res.ok, () => false);
    if (ready) return child;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('the API did not start');
    await sleep(100);
  }
}

interface Answer {
  status: number;
  code: string | undefined;
  latencyMs: number;
}

function send(agent: Agent, baseUrl: string, token: string, body: string, dueAt: number): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      `${baseUrl}/incidents`,
      { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const code = status >= 400 ? (JSON.parse(text) as { code?: string }).code : undefined;
          resolve({ status, code, latencyMs: performance.now() - dueAt });
        });
      },
    );
    req.on('error', () => resolve({ status: 0, code: 'connection_error', latencyMs: performance.now() - dueAt }));
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

async function runApiBench(args: ApiBenchArgs, cleanup: Cleanup): Promise<void> {
  const logger = makeLogger();
  const stack = await startStack(cleanup);
  const databaseUrl = await createBenchDatabase(stack.databaseUrl, logger, cleanup);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const token = generateToken().token;
  const api = await startApi(
    {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      REDIS_URL: stack.redisUrl,
      REDIS_KEY_PREFIX: `bench-api:${token.slice(4, 16)}:`,
      PORT: String(port),
      KLAXON_ADMIN_TOKEN: token,
      LOG_LEVEL: 'warn',
      // The bench measures the API, not the per-token limit.
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_BURST: '1000000',
    },
    baseUrl,
    cleanup,
  );
  const pid = api.pid as number;
  const agent = new Agent({ keepAlive: true, maxSockets: args.connections });
  cleanup.add('close the connections', () => Promise.resolve(agent.destroy()));

  const total = Math.round(args.rate * args.durationS);
  const intervalMs = 1000 / args.rate;
  progress(`${total} requests at ${args.rate}/s for ${args.durationS} s on at most ${args.connections} connections`);
  const cpuBefore = cpuSeconds(pid);
  const startedAt = performance.now() + 100;
  const answers: Promise<Answer>[] = [];
  for (let i = 0; i < total; i += 1) {
    const dueAt = startedAt + i * intervalMs;
    const wait = dueAt - performance.now();
    if (wait > 1) await sleep(wait);
    answers.push(send(agent, baseUrl, token, JSON.stringify({ title: `bench ${i}`, escalate: true }), dueAt));
  }
  const done = await Promise.all(answers);
  const elapsedS = (performance.now() - startedAt) / 1000;
  const cpuUsed = cpuSeconds(pid) - cpuBefore;

  const statuses: Record<string, number> = {};
  const codes503: Record<string, number> = {};
  for (const answer of done) {
    statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    if (answer.status === 503 && answer.code) codes503[answer.code] = (codes503[answer.code] ?? 0) + 1;
  }
  const latencies = done.map((answer) => answer.latencyMs).sort((a, b) => a - b);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const counted = await client.query<{ audit: string; created: string }>(
    "SELECT (SELECT count(*) FROM audit_log WHERE method = 'POST' AND status = 201) AS audit, (SELECT count(*) FROM incidents) AS created",
  );
  await client.end();
  const round = (ms: number) => Math.round(ms * 10) / 10;
  const result = {
    rate: args.rate,
    duration_s: args.durationS,
    connections: args.connections,
    sent: total,
    statuses,
    codes_503: codes503,
    p50_ms: round(percentile(latencies, 50)),
    p90_ms: round(percentile(latencies, 90)),
    p99_ms: round(percentile(latencies, 99)),
    max_ms: round(latencies.at(-1) ?? 0),
    achieved_per_s: Math.round((statuses['201'] ?? 0) / elapsedS),
    api_cpu_percent: Math.round((cpuUsed / elapsedS) * 100),
    audit_rows: Number(counted.rows[0]?.audit),
    created: Number(counted.rows[0]?.created),
  };
  progress(
    `${result.achieved_per_s}/s created; latency p50 ${result.p50_ms} ms, p90 ${result.p90_ms} ms, p99 ${result.p99_ms} ms, max ${result.max_ms} ms; ` +
      `statuses ${JSON.stringify(statuses)}; API CPU ${result.api_cpu_percent} %; audit rows ${result.audit_rows} for ${result.created} incidents`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await runBenchmark(parseApiBenchArgs, USAGE, runApiBench);
