/**
 * The alert intake mode of the benchmark: `npm run -s bench -- --intake R --duration S
 * [--connections C] [--workers W]` (scripts/bench.ts parses the arguments).
 *
 * One API process (`src/main/api.ts`, as deployed, NODE_ENV=production) on a fresh
 * database of the bench's private Postgres and Redis (scripts/bench/support.ts), W idle
 * worker processes alongside (1 by default), and an open-loop load of Events API v2
 * `trigger` events, `POST /v2/enqueue`, R a second for S seconds, on at most C
 * keep-alive connections (64; scripts/bench/http-client.ts, as --api). Every other
 * event is a new dedup key (an incident opened, its level 1 scheduled: the expensive
 * path); the others repeat a key already sent, chosen at random among those sent at
 * least DUPLICATE_MIN_AGE_MS before, so it finds its incident open and adds an
 * occurrence (in the first DUPLICATE_MIN_AGE_MS, among those sent so far: a few may
 * race their own first trigger, which the unique index settles the same way).
 *
 * The keys and dedup keys are spread over SERVICES services, each with one integration
 * key made through `POST /services/:id/integration-keys`, all on one policy that pages
 * one person after 5 minutes, with auto_escalate on (the default): each new incident starts
 * escalating at once, and nothing falls due during the run, so the workers stay idle as
 * in --api. Nothing may be refused or folded: the storm threshold
 * (INTAKE_STORM_PER_MINUTE) is set far above the load (folding is cheaper than opening,
 * so not folding is the honest worst case), and each key's own rate limit (and the
 * default one, INTAKE_RATE_PER_MINUTE / INTAKE_RATE_BURST) far above its share; the
 * JSON line says what was set.
 *
 * Latency runs from the instant an event was due to be sent to the end of its answer
 * (no coordinated omission); stderr splits it by due time and by where it went (waiting
 * here for a connection, due instant to the API's statement, statement to COMMIT). The
 * API is stopped (SIGTERM) before Postgres is read back:
 * the alert log's outcomes (opened, deduplicated, folded), the incidents and their
 * pending escalations; `verified` is true when every event is in the alert log, every
 * new key opened exactly one incident and every repeat was deduplicated.
 *
 * stdout gets one JSON line:
 *   {"intake","duration_s","workers","connections","services","storm_threshold","key_rate_per_minute","key_rate_burst",
 *    "sent","new_keys","repeats","statuses","errors","p50_ms","p90_ms","p99_ms","max_ms","achieved_per_s",
 *    "api_cpu_percent","workers_cpu_percent","client_cpu_percent","postgres_cpu_percent","opened","deduplicated","folded","alert_log_rows",
 *    "incidents","pending_escalations","verified","commit_wal_wait_max_ms"}
 * statuses: answers by HTTP status (0: no answer); errors: refusals by "status what"
 * (the Events API's `status`, a problem's `code`, or the socket's error code), plus
 * "202 wrong_dedup_key" for an accepted event answered with another dedup key.
 */
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { API_LOG, type Timed, latencySummary, progressByDueTime, servedFigures, startApiRig } from './api.ts';
import { HttpClient } from './http-client.ts';
import {
  type Cleanup,
  UsageError,
  WORKER_LOG,
  describeLoad,
  describePostgres,
  positive,
  postgresCpu,
  postgresSnapshot,
  progress,
  withClient,
} from './support.ts';
import { describeWalWaits, longestWalWaitMs, watchWalWaits } from './wal-waits.ts';

export interface IntakeBenchArgs {
  /** Events a second. */
  rate: number;
  durationS: number;
  connections: number;
  workers: number;
}

/**
 * Services, one integration key each. 500 events a second over 50 services is 5 new
 * incidents a second per service: a busy organisation, not one exporter gone mad.
 */
const SERVICES = 50;
/** INTAKE_STORM_PER_MINUTE for the run: nothing folds (the 20 a minute default would fold almost everything). */
const STORM_THRESHOLD = 1_000_000;
/** Each key's own limit (the most integration_keys' CHECK allows), and the default for keys without one. */
const KEY_RATE_PER_MINUTE = 100_000;
const KEY_RATE_BURST = 100_000;
/** A repeat picks a key sent at least this long before: its incident is committed, the path is deduplication, not a race. */
const DUPLICATE_MIN_AGE_MS = 200;

export function parseIntakeArgs(values: {
  intake?: string;
  duration?: string;
  connections?: string;
  workers?: string;
  [other: string]: unknown;
}): IntakeBenchArgs {
  for (const flag of ['rate', 'burst', 'api', 'notify', 'lead', 'grace', 'notifiers', 'channel', 'provider-rate'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--intake excludes --${flag}`);
  }
  if (values.analyze === true) throw new UsageError('--intake excludes --analyze');
  const rate = positive('--intake', values.intake);
  const durationS = positive('--duration', values.duration ?? '10');
  if (Math.round(rate * durationS) < 2) throw new UsageError('--intake × --duration must be at least 2 events');
  const workers = values.workers === '0' ? 0 : positive('--workers', values.workers ?? '1', { integer: true });
  if (workers > 64) throw new UsageError('--workers: at most 64');
  const connections = positive('--connections', values.connections ?? '64', { integer: true });
  return { rate, durationS, connections, workers };
}

// --- setup through the API ------------------------------------------------------------------

interface Service {
  id: string;
  routingKey: string;
}

async function call(baseUrl: string, token: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** One person, one policy paging them after 5 minutes, SERVICES services on it, a key each. */
async function createServices(baseUrl: string, token: string): Promise<Service[]> {
  const user = await call(baseUrl, token, '/users', { name: 'Bench On-call', email: 'oncall@bench.invalid' });
  const policy = await call(baseUrl, token, '/escalation-policies', {
    name: 'bench intake',
    levels: [{ delay: '5m', targets: [{ type: 'user', id: user.id }] }],
  });
  const services: Service[] = [];
  for (let i = 0; i < SERVICES; i += 1) {
    const service = await call(baseUrl, token, '/services', { name: `bench service ${i}`, escalation_policy_id: policy.id });
    const key = await call(baseUrl, token, `/services/${String(service.id)}/integration-keys`, {
      name: 'bench',
      rate_per_minute: KEY_RATE_PER_MINUTE,
      rate_burst: KEY_RATE_BURST,
    });
    services.push({ id: String(service.id), routingKey: String(key.key) });
  }
  return services;
}

// --- the load -------------------------------------------------------------------------------

interface Sent extends Timed {
  /** Whether this event is the first of its dedup key. */
  isNew: boolean;
  dedupKey: string;
  status: number;
  /** What a refusal said (or the socket's error code). */
  what: string | undefined;
  /** A 202 that answered another dedup key than the one sent. */
  wrongKey: boolean;
}

function eventBody(service: Service, n: number, dedupKey: string, at: Date): string {
  return JSON.stringify({
    routing_key: service.routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: `Disk almost full on host-${n}: 3% left on /var`,
      source: `host-${n}.bench.invalid`,
      severity: 'critical',
      timestamp: at.toISOString(),
      component: 'disk',
      group: 'bench',
      class: 'disk_full',
      custom_details: { free_percent: 3, mount: '/var', host: `host-${n}` },
    },
  });
}

function whatWasRefused(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { status?: unknown; code?: unknown };
    if (typeof parsed.code === 'string') return parsed.code;
    if (typeof parsed.status === 'string') return parsed.status;
  } catch {
    // not JSON
  }
  return undefined;
}

async function send(client: HttpClient, request: Buffer, dueAt: number, startedAt: number, isNew: boolean, dedupKey: string, samples: string[]): Promise<Sent> {
  const { status, body, code, sentAt } = await client.send(request);
  const latencyMs = performance.now() - dueAt;
  const queuedMs = (sentAt ?? dueAt + latencyMs) - dueAt;
  let what: string | undefined;
  let wrongKey = false;
  if (status === 202) {
    try {
      wrongKey = (JSON.parse(body) as { dedup_key?: unknown }).dedup_key !== dedupKey;
    } catch {
      wrongKey = true;
    }
  } else {
    what = status === 0 ? code : whatWasRefused(body);
    if (samples.length < 3) samples.push(`${status} ${body.slice(0, 300)}`);
  }
  return { isNew, dedupKey, status, what, wrongKey, dueMs: dueAt - startedAt, latencyMs, queuedMs };
}

interface Counted {
  opened: number;
  deduplicated: number;
  folded: number;
  other: number;
  alertLog: number;
  incidents: number;
  escalating: number;
  storms: number;
  alertCount: number;
  pending: number;
}

async function countBack(databaseUrl: string): Promise<Counted> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<Counted>(
      `SELECT (SELECT count(*)::int FROM alert_log WHERE outcome = 'opened') AS "opened",
              (SELECT count(*)::int FROM alert_log WHERE outcome = 'deduplicated') AS "deduplicated",
              (SELECT count(*)::int FROM alert_log WHERE outcome = 'folded') AS "folded",
              (SELECT count(*)::int FROM alert_log WHERE outcome NOT IN ('opened', 'deduplicated', 'folded')) AS "other",
              (SELECT count(*)::int FROM alert_log) AS "alertLog",
              (SELECT count(*)::int FROM incidents WHERE dedup_key IS NOT NULL) AS "incidents",
              (SELECT count(*)::int FROM incidents WHERE dedup_key IS NOT NULL AND state = 'ESCALATING') AS "escalating",
              (SELECT count(*)::int FROM incidents WHERE alert_storm) AS "storms",
              (SELECT coalesce(sum(alert_count), 0)::int FROM incidents) AS "alertCount",
              (SELECT count(*)::int FROM escalations WHERE status = 'PENDING') AS "pending"`,
    );
    const row = rows[0];
    if (!row) throw new Error('no counts');
    return row;
  });
}

/**
 * For each alert logged, when it was due (its payload.timestamp, from the first due
 * instant), how long after that the API's statement took its time (received_at, the
 * API's clock, which follows Postgres'), and how long after that it committed (null
 * without track_commit_timestamp). Same host, same clock: good to a millisecond or so.
 */
async function serverSideTimes(databaseUrl: string, wallStart: number): Promise<{ dueMs: number; toStatementMs: number; toCommitMs: number | null }[]> {
  return withClient(databaseUrl, async (client) => {
    const { rows: setting } = await client.query<{ on: string }>("SELECT current_setting('track_commit_timestamp') AS on");
    const commitTime = setting[0]?.on === 'on' ? 'pg_xact_commit_timestamp(xmin)' : 'NULL::timestamptz';
    const { rows } = await client.query<{ due: Date; received_at: Date; committed_at: Date | null }>(
      `SELECT (payload->'payload'->>'timestamp')::timestamptz AS due, received_at, ${commitTime} AS committed_at
       FROM alert_log WHERE payload->'payload'->>'timestamp' IS NOT NULL`,
    );
    return rows.map((row) => ({
      dueMs: row.due.getTime() - wallStart,
      toStatementMs: row.received_at.getTime() - row.due.getTime(),
      toCommitMs: row.committed_at ? row.committed_at.getTime() - row.received_at.getTime() : null,
    }));
  });
}

export async function runIntakeBench(args: IntakeBenchArgs, cleanup: Cleanup): Promise<void> {
  const { code, loadBefore, databaseUrl, baseUrl, token, api, client, stats, cpuMeter } = await startApiRig(args, cleanup, {
    INTAKE_STORM_PER_MINUTE: String(STORM_THRESHOLD),
    INTAKE_RATE_PER_MINUTE: String(KEY_RATE_PER_MINUTE),
    INTAKE_RATE_BURST: String(KEY_RATE_BURST),
  });
  const services = await createServices(baseUrl, token);
  progress(`${services.length} services, each with a policy (level 1 after 5m) and an integration key`);

  const headers = { 'content-type': 'application/json' };

  const total = Math.round(args.rate * args.durationS);
  const intervalMs = 1000 / args.rate;
  progress(
    `${total} Events API v2 triggers at ${args.rate}/s for ${args.durationS} s on at most ${args.connections} connections, ` +
      `half of them new dedup keys, ${args.workers} idle worker(s) alongside`,
  );
  const cpuUsed = cpuMeter();
  const samples: string[] = [];
  const postgresBefore = await postgresSnapshot(databaseUrl);
  const walWatch = await watchWalWaits(databaseUrl);
  // Keys sent so far in order, with when each was due: repeats pick among the old enough.
  const firsts: { n: number; dedupKey: string; dueAt: number }[] = [];
  let oldEnough = 0;
  const startedAt = performance.now() + 100;
  // The wall-clock time of the first due instant: each event's payload.timestamp is its own
  // due instant, which the API's side of the latency is measured from (serverSideTimes).
  const wallStart = Date.now() + (startedAt - performance.now());
  const answers: Promise<Sent>[] = [];
  for (let i = 0; i < total; i += 1) {
    const dueAt = startedAt + i * intervalMs;
    const wait = dueAt - performance.now();
    if (wait > 1) await sleep(wait);
    let first: { n: number; dedupKey: string; dueAt: number };
    const isNew = i % 2 === 0;
    if (isNew) {
      const n = firsts.length;
      first = { n, dedupKey: `bench/host-${n}/disk_full`, dueAt };
      firsts.push(first);
    } else {
      while (oldEnough < firsts.length && (firsts[oldEnough]?.dueAt ?? Infinity) <= dueAt - DUPLICATE_MIN_AGE_MS) oldEnough += 1;
      const among = oldEnough > 0 ? oldEnough : firsts.length;
      first = firsts[Math.floor(Math.random() * among)] ?? (firsts[0] as typeof first);
    }
    const service = services[first.n % services.length] as Service;
    const body = eventBody(service, first.n, first.dedupKey, new Date(wallStart + (dueAt - startedAt)));
    answers.push(send(client, client.request('POST', '/v2/enqueue', headers, body), dueAt, startedAt, isNew, first.dedupKey, samples));
  }
  const done = await Promise.all(answers);
  const elapsedS = (performance.now() - startedAt) / 1000;
  const { apiS: apiCpu, workersS: workerCpu, clientS: clientCpu } = cpuUsed();
  const walWaits = await walWatch.stop();
  // Before the API stops: its connections' backends exit with it.
  const postgresAfter = await postgresSnapshot(databaseUrl);
  const pgCpu = postgresCpu(postgresBefore, postgresAfter);

  // Whatever the API writes after answering (the audit of refused requests) is written before it exits.
  progress('stopping the API (SIGTERM)');
  await api.stop();
  const counted = await countBack(databaseUrl);
  const serverSide = await serverSideTimes(databaseUrl, wallStart);

  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const answer of done) {
    statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    if (answer.status !== 202) {
      const key = `${answer.status} ${answer.what ?? 'unknown'}`;
      errors[key] = (errors[key] ?? 0) + 1;
    } else if (answer.wrongKey) {
      errors['202 wrong_dedup_key'] = (errors['202 wrong_dedup_key'] ?? 0) + 1;
    }
  }
  const newKeys = done.filter((answer) => answer.isNew).length;
  const repeats = total - newKeys;
  const verified =
    counted.alertLog === total &&
    counted.opened === newKeys &&
    counted.deduplicated === repeats &&
    counted.incidents === newKeys &&
    counted.folded === 0 &&
    counted.storms === 0;
  const result = {
    intake: args.rate,
    duration_s: args.durationS,
    workers: args.workers,
    connections: args.connections,
    services: services.length,
    storm_threshold: STORM_THRESHOLD,
    key_rate_per_minute: KEY_RATE_PER_MINUTE,
    key_rate_burst: KEY_RATE_BURST,
    sent: total,
    new_keys: newKeys,
    repeats,
    statuses,
    errors,
    ...servedFigures(done, statuses['202'] ?? 0, elapsedS, { api: apiCpu, workers: workerCpu, client: clientCpu, postgres: pgCpu }),
    opened: counted.opened,
    deduplicated: counted.deduplicated,
    folded: counted.folded,
    alert_log_rows: counted.alertLog,
    incidents: counted.incidents,
    pending_escalations: counted.pending,
    verified,
    commit_wal_wait_max_ms: longestWalWaitMs(walWaits),
  };

  const [loadAfter = 0] = loadavg();
  progress(`---- intake: ${total} Events API v2 triggers at ${args.rate}/s for ${args.durationS} s (${newKeys} new keys, ${repeats} repeats)`);
  progress(`code: ${code}; ${describeLoad(loadBefore, loadAfter)}`);
  progress(`latency ms from the due instant, all:     ${latencySummary(done.map((a) => a.latencyMs))}`);
  progress(`                                 new keys: ${latencySummary(done.filter((a) => a.isNew).map((a) => a.latencyMs))}`);
  progress(`                                 repeats:  ${latencySummary(done.filter((a) => !a.isNew).map((a) => a.latencyMs))}`);
  // Where the time went: from the due instant to the API's statement (alert_log.received_at:
  // the queue here, the socket, the event loop, auth, the rate limit, parsing), and from
  // that statement to its COMMIT (pg_xact_commit_timestamp).
  progressByDueTime(done, args.durationS, 'events', [
    { label: 'due to statement', samples: serverSide.map((row) => ({ dueMs: row.dueMs, ms: row.toStatementMs })) },
    {
      label: 'statement to COMMIT',
      samples: serverSide.flatMap((row) => (row.toCommitMs === null ? [] : [{ dueMs: row.dueMs, ms: row.toCommitMs }])),
    },
  ]);
  progress(`statuses ${JSON.stringify(statuses)}, errors ${JSON.stringify(errors)}`);
  for (const sample of samples) progress(`  refused: ${sample}`);
  progress(
    `CPU: API ${result.api_cpu_percent} % (${((apiCpu / total) * 1000).toFixed(2)} ms an event), workers ${result.workers_cpu_percent} % in all, ` +
      `this client ${result.client_cpu_percent} % (it shares the machine)`,
  );
  progress(
    `${verified ? '' : 'WARNING: '}alert log: ${counted.alertLog} rows for ${total} sent; opened ${counted.opened} for ${newKeys} new keys, ` +
      `deduplicated ${counted.deduplicated} for ${repeats} repeats, folded ${counted.folded}, other outcomes ${counted.other}; ` +
      `${counted.incidents} incidents opened by alerts (${counted.escalating} escalating, ${counted.storms} storms), ` +
      `occurrences counted ${counted.alertCount}; ${counted.pending} escalations pending`,
  );
  progress(describePostgres(postgresBefore, postgresAfter, total, 'an event'));
  progress(describeWalWaits(walWaits, wallStart));
  if (args.workers > 0) progress(`workers: ${stats.warnings} warnings, ${stats.errors} errors (log: ${WORKER_LOG}); API log: ${API_LOG}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
