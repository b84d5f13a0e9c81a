/**
 * The notifications mode of the benchmark: `npm run -s bench -- --notify R --duration S
 * [--workers W] [--notifiers N] [--channel webhook|email|sms|slack] [--provider-rate P]
 * [--grace S]` (scripts/bench.ts parses the arguments).
 *
 * On a fresh database of the bench's private Postgres and Redis (scripts/bench/support.ts):
 * a local sink speaking the channel's provider API (in this process: a plain HTTP
 * receiver answering 200 for webhooks, Twilio's Messages.json answering 201 with a SID
 * for sms, Slack's chat.postMessage answering ok for slack, an SMTP server (smtp-server)
 * for email), W worker processes and N notifier processes (`src/main/worker.ts`,
 * `src/main/notifier.ts`, as deployed, NODE_ENV=production), the channel's provider
 * pointed at the sink (NOTIFY_WEBHOOK_SECRET, TWILIO_BASE_URL and account, SLACK_API_URL
 * and bot token, SMTP_URL). R*S users, each with one contact method of the channel
 * (email: the one every user gets), and R*S ESCALATING incidents, each following a
 * policy whose level 1 pages its own user with `channels: [channel]`, so each execution
 * writes exactly one outbox row; their level-1 escalations fall due uniformly at R a
 * second for S seconds. One user per incident keeps the per-destination bucket
 * (NOTIFY_DESTINATION_PER_MINUTE) and the per-incident throttle out of the way: the
 * bench measures delivery, not folding.
 *
 * The per-provider rate each notifier allows (NOTIFY_PROVIDER_PER_SECOND, 50 by
 * default) would cap the throughput below R: the bench sets it to max(50, 2R) unless
 * --provider-rate says otherwise, and reports it (provider_per_second).
 *
 * Latency per notification, from the level's durable commit to the provider accepting it:
 *   commit: pg_xact_commit_timestamp(xmin) of the notification's `escalated` event. The
 *     outbox row is inserted by the transaction that executes the level, but the
 *     notifier updates it (claim, outcome), so its own xmin is the notifier's by the end;
 *     the event is inserted by that same executing transaction and never updated. Checked
 *     on every run: the row's committed_at (the execution instant the worker stamps on
 *     its batch) equals the escalation's executed_at (xmin_check.other_stamp, must be 0).
 *   accepted (p*_ms): the sink's receive time, when the request's body (the message's
 *     DATA for email) has fully arrived, before it answers: what the person gets. The
 *     sink runs in the bench's process, on the same host and clock as Postgres.
 *   recorded (recorded_p*_ms): notification_attempts.finished_at of the sent attempt,
 *     the notifier's stamp once it read the provider's answer (the notifier's clock is
 *     Postgres's, corrected for the offset it measures).
 * Also on stderr: due to commit (the workers' lateness, which this mode does not add to
 * its figure), commit to the attempt's start (wake-up, claim, render), the attempt's
 * start to the sink (the HTTP request), and due to the sink (end to end).
 *
 * stdout gets one JSON line:
 *   {"notify","duration_s","workers","notifiers","channel","provider_per_second","notifications",
 *    "sent","failed","pending","skipped","folded","duplicates","missing","received",
 *    "p50_ms","p90_ms","p99_ms","max_ms","recorded_p50_ms","recorded_p90_ms","recorded_p99_ms","recorded_max_ms",
 *    "due_to_commit_p99_ms","load_before","load_after"}
 * notifications: outbox rows written; missing: escalations whose notification the sink
 * never received; duplicates: receipts beyond the first of one idempotency key (email: of
 * one Message-ID; slack: of one idempotency key in the message's metadata).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import type pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { PostgresClock } from '../../src/clock/postgres-clock.ts';
import { createPool } from '../../src/db/pool.ts';
import type { ChannelKind } from '../../src/domain/notifications.ts';
import { emailMessageId } from '../../src/notify/channels/email.ts';
import { redisKeys } from '../../src/redis/keys.ts';
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
  exitOf,
  isRunning,
  makeLogger,
  openLog,
  parseLogLine,
  progress,
  raceTimeout,
  TIMED_OUT,
  UsageError,
  positive,
  seconds,
  spawnAsDeployed,
  startStack,
  startWorkers,
  stopProcess,
  stopWorkers,
  waitForWorkers,
} from './support.ts';

export const NOTIFY_CHANNELS = ['webhook', 'email', 'sms', 'slack'] as const satisfies readonly ChannelKind[];
export type NotifyChannel = (typeof NOTIFY_CHANNELS)[number];

export interface NotifyBenchArgs {
  /** Notifications a second. */
  rate: number;
  durationS: number;
  workers: number;
  notifiers: number;
  channel: NotifyChannel;
  /** NOTIFY_PROVIDER_PER_SECOND for each notifier; undefined: max(50, 2R). */
  providerPerSecond: number | undefined;
  /** How long after the last due time a notification may still arrive. */
  graceMs: number;
}

const NOTIFIER_LOG = join(REPO_ROOT, DATA_DIR, 'notifiers.log');
const NOTIFICATIONS_CSV = join(REPO_ROOT, DATA_DIR, 'notifications.csv');
const READY_TIMEOUT_MS = 60_000;
const SEED_BATCH = 2_000;
const POLL_MS = 250;
/** After everything arrived, how long to keep listening for a duplicate. */
const DUPLICATE_WATCH_MS = 1_000;
/** Level 2 is an hour after level 1 (the snapshot's own delay): it never falls due during the run. */
const ESCALATION_LEVELS = '1h,1h,1h';
const EMAIL_DOMAIN = 'bench.invalid';
const TWILIO_SID = 'ACbench';

// --- the sink -------------------------------------------------------------------------

interface Sink {
  /** First receive time (epoch ms) and receive count, by the key the channel carries. */
  readonly received: Map<string, { firstMs: number; count: number }>;
  /** Requests the sink could not tie to a key (none expected). */
  unkeyed: number;
  total: number;
  /** What to give the notifiers (their environment). */
  env: Record<string, string>;
  close(): Promise<void>;
}

function newSink(): Omit<Sink, 'env' | 'close'> & { note(key: string | undefined, atMs: number): void } {
  const sink = {
    received: new Map<string, { firstMs: number; count: number }>(),
    unkeyed: 0,
    total: 0,
    note(key: string | undefined, atMs: number) {
      sink.total += 1;
      if (!key) {
        sink.unkeyed += 1;
        return;
      }
      const seen = sink.received.get(key);
      if (seen) seen.count += 1;
      else sink.received.set(key, { firstMs: atMs, count: 1 });
    },
  };
  return sink;
}

/** The key of a request as the channel sends it; the answer the provider would give. */
function httpAnswer(channel: 'webhook' | 'sms' | 'slack', request: IncomingMessage, body: string): { key: string | undefined; status: number; json: unknown } {
  const header = request.headers['idempotency-key'];
  const idempotencyKey = typeof header === 'string' ? header : undefined;
  if (channel === 'webhook') return { key: idempotencyKey, status: 200, json: { ok: true } };
  if (channel === 'sms') return { key: idempotencyKey, status: 201, json: { sid: `SM${randomBytes(16).toString('hex')}`, status: 'queued' } };
  let key: string | undefined;
  let destination = 'C0';
  try {
    const parsed = JSON.parse(body) as { channel?: string; metadata?: { event_payload?: { idempotency_key?: string } } };
    key = parsed.metadata?.event_payload?.idempotency_key;
    destination = parsed.channel ?? destination;
  } catch {
    // unkeyed
  }
  return { key, status: 200, json: { ok: true, channel: destination, ts: `${(Date.now() / 1000).toFixed(6)}` } };
}

async function startHttpSink(channel: 'webhook' | 'sms' | 'slack'): Promise<Sink> {
  const sink = newSink();
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      // The instant the whole request is here, before the answer: the provider has it.
      const atMs = Date.now();
      const answer = httpAnswer(channel, request, Buffer.concat(chunks).toString('utf8'));
      sink.note(answer.key, atMs);
      const text = JSON.stringify(answer.json);
      response.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      response.end(text);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const env: Record<string, string> =
    channel === 'webhook'
      ? { NOTIFY_WEBHOOK_SECRET: randomBytes(32).toString('hex') }
      : channel === 'sms'
        ? { TWILIO_BASE_URL: base, TWILIO_ACCOUNT_SID: TWILIO_SID, TWILIO_AUTH_TOKEN: randomBytes(16).toString('hex'), TWILIO_FROM: '+15550000000' }
        : { SLACK_API_URL: base, SLACK_BOT_TOKEN: `xoxb-bench-${randomBytes(8).toString('hex')}` };
  return Object.assign(sink, {
    env: { ...env, BENCH_SINK_URL: base },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** The Message-ID header of a message's head (the first lines, up to the blank one). */
function messageIdOf(head: string): string | undefined {
  const end = head.search(/\r?\n\r?\n/);
  const headers = (end < 0 ? head : head.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  return /^message-id:\s*(\S+)/im.exec(headers)?.[1];
}

async function startSmtpSink(): Promise<Sink> {
  const sink = newSink();
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 100,
    onData(stream, _session, callback) {
      let head = '';
      stream.on('data', (chunk: Buffer) => {
        if (head.length < 16_384) head += chunk.toString('utf8');
      });
      stream.on('end', () => {
        // End of DATA: the server is about to answer 250, the message is accepted.
        sink.note(messageIdOf(head), Date.now());
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;
  return Object.assign(sink, {
    env: { SMTP_URL: `smtp://127.0.0.1:${port}`, NOTIFY_EMAIL_FROM: `klaxon <klaxon@${EMAIL_DOMAIN}>` },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** The key the sink files a notification under, from its idempotency key. */
function sinkKey(channel: NotifyChannel, idempotencyKey: string): string {
  return channel === 'email' ? emailMessageId(idempotencyKey, EMAIL_DOMAIN) : idempotencyKey;
}

// --- the notifiers ----------------------------------------------------------------------

interface NotifierProcess {
  index: number;
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
}

interface NotifierStats {
  warnings: number;
  errors: number;
}

function startNotifiers(count: number, env: NodeJS.ProcessEnv, stats: NotifierStats, cleanup: Cleanup): NotifierProcess[] {
  const log = openLog(NOTIFIER_LOG, cleanup);
  const notifiers = Array.from({ length: count }, (_, i) => {
    const index = i + 1;
    let markReady: () => void = () => undefined;
    const child = spawnAsDeployed('src/main/notifier.ts', env, (line) => {
      log.write(`n${index} ${line}\n`);
      const entry = parseLogLine(line);
      if (entry?.message === 'notifier started') markReady();
      if (entry && entry.level !== 'warn' && entry.level !== 'error') return;
      if (entry?.level === 'warn') stats.warnings += 1;
      if (entry?.level === 'error') stats.errors += 1;
      process.stderr.write(`notifier ${index}: ${line}\n`);
    });
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      child.once('exit', (code, signal) =>
        reject(new Error(`notifier ${index} exited (${signal ?? `code ${String(code)}`}) before it was ready; see ${NOTIFIER_LOG}`)),
      );
    });
    ready.catch(() => undefined);
    return { index, child, ready, exited: exitOf(child) };
  });
  cleanup.add('stop the notifiers', () => stopNotifiers(notifiers));
  return notifiers;
}

async function stopNotifiers(notifiers: NotifierProcess[]): Promise<void> {
  await Promise.all(notifiers.map((n) => stopProcess(`notifier ${n.index}`, n.child, n.exited)));
}

// --- seeding ------------------------------------------------------------------------------

/** R*S users, each with one contact method of the channel (email: the one the users trigger gives). */
async function seedUsers(pool: pg.Pool, channel: NotifyChannel, count: number, sinkUrl: string | undefined): Promise<string[]> {
  const tag = randomBytes(4).toString('hex');
  const ids: string[] = [];
  for (let start = 0; start < count; start += SEED_BATCH) {
    const indexes = Array.from({ length: Math.min(SEED_BATCH, count - start) }, (_, i) => start + i);
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO users (name, email)
       SELECT 'bench user ' || i, 'bench-' || i || '-' || $2::text || '@${EMAIL_DOMAIN}' FROM unnest($1::int[]) AS i
       RETURNING id`,
      [indexes, tag],
    );
    const userIds = rows.map((row) => row.id);
    ids.push(...userIds);
    if (channel === 'email') continue;
    const addresses = indexes.map((i) =>
      channel === 'webhook'
        ? `${String(sinkUrl)}/hook/${i}`
        : channel === 'sms'
          ? `+1555${String(1_000_000 + i).padStart(7, '0')}`
          : `U${String(i).padStart(6, '0')}`,
    );
    // sms must be verified before use; verified_at set here as the verification flow would.
    await pool.query(
      `INSERT INTO contact_methods (user_id, kind, address, position, verified_at)
       SELECT u, $3::text, a, 10, now() FROM unnest($1::uuid[], $2::text[]) AS m (u, a)`,
      [userIds, addresses, channel],
    );
  }
  return ids;
}

/**
 * The incidents, each following a frozen policy whose level 1 (delay 0) pages its own
 * user through `channel` only, and their PENDING level-1 escalations; indexed in Redis as
 * the API does (ZADD by due time, then one PUBLISH to wake the workers).
 */
const SEED_SQL = `
WITH seed AS (
  SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[]) AS s (incident_id, due_at, user_id)
),
new_incidents AS (
  INSERT INTO incidents (id, title, severity, state, created_at, updated_at, policy_snapshot)
  SELECT s.incident_id, 'bench incident', 'critical', 'ESCALATING', $4::timestamptz, $4::timestamptz,
         jsonb_build_object('policy_id', NULL, 'name', 'bench', 'version', 1, 'repeat_count', 0, 'levels', jsonb_build_array(
           jsonb_build_object('delay_ms', 0, 'targets', jsonb_build_array(jsonb_build_object('type', 'user', 'id', s.user_id)),
                              'channels', jsonb_build_array($5::text)),
           jsonb_build_object('delay_ms', 3600000, 'targets', '[]'::jsonb, 'channels', NULL)))
  FROM seed s
  RETURNING id
)
INSERT INTO escalations (incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at)
SELECT s.incident_id, 1, 0, 'PENDING', s.due_at, $4::timestamptz, $4::timestamptz
FROM seed s JOIN new_incidents ON new_incidents.id = s.incident_id
RETURNING id, scheduled_at`;

async function seedIncidents(
  pool: pg.Pool,
  redis: Awaited<ReturnType<typeof connectRedis>>,
  keys: ReturnType<typeof redisKeys>,
  channel: NotifyChannel,
  userIds: string[],
  dueMs: number[],
  createdAt: Date,
): Promise<void> {
  for (let start = 0; start < dueMs.length; start += SEED_BATCH) {
    const batch = dueMs.slice(start, start + SEED_BATCH);
    const { rows } = await pool.query<{ id: string; scheduled_at: Date }>(SEED_SQL, [
      batch.map(() => randomUUID()),
      batch.map((ms) => new Date(ms)),
      userIds.slice(start, start + batch.length),
      createdAt,
      channel,
    ]);
    await redis.zAdd(
      keys.pending,
      rows.map((row) => ({ score: row.scheduled_at.getTime(), value: row.id })),
    );
  }
  await redis.publish(keys.wakeChannel, String(dueMs[0]));
}

// --- measuring ------------------------------------------------------------------------------

interface Row {
  idempotency_key: string;
  status: string;
  attempts: number;
  due_ms: number;
  commit_ms: number | null;
  started_ms: number | null;
  finished_ms: number | null;
  same_stamp: boolean;
  events: number;
}

const MEASURE_SQL = `
SELECT n.idempotency_key, n.status, n.attempts,
       extract(epoch FROM e.scheduled_at)::float8 * 1000 AS due_ms,
       ev.commit_ms, ev.events,
       extract(epoch FROM a.started_at)::float8 * 1000 AS started_ms,
       extract(epoch FROM a.finished_at)::float8 * 1000 AS finished_ms,
       n.committed_at IS NOT DISTINCT FROM e.executed_at AS same_stamp
FROM notifications n
JOIN escalations e ON e.id = n.escalation_id
LEFT JOIN LATERAL (
  SELECT count(*)::int AS events,
         extract(epoch FROM min(pg_xact_commit_timestamp(ie.xmin)))::float8 * 1000 AS commit_ms
  FROM incident_events ie
  WHERE ie.incident_id = n.incident_id AND ie.kind = 'escalated' AND ie.details->>'escalation_id' = n.escalation_id::text
) ev ON true
LEFT JOIN LATERAL (
  SELECT started_at, finished_at FROM notification_attempts a
  WHERE a.notification_id = n.id AND a.outcome = 'sent' ORDER BY a.attempt LIMIT 1
) a ON true
WHERE n.type = 'escalation'`;

/** percentile_cont: linear interpolation between the closest ranks, as bench.ts's figures. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = p * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low] as number;
  const b = sorted[high] as number;
  return a + (b - a) * (rank - low);
}

interface Dist {
  n: number;
  min: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

function dist(values: number[]): Dist {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    min: sorted[0] ?? null,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? null,
  };
}

const round1 = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
const fmt = (v: number | null) => (v === null ? '-' : v.toFixed(1));
const describe = (d: Dist) => `n ${d.n}  min ${fmt(d.min)}  p50 ${fmt(d.p50)}  p90 ${fmt(d.p90)}  p99 ${fmt(d.p99)}  max ${fmt(d.max)}`;

/**
 * Every notification's instants (ms from T0) to .data/bench/notifications.csv, to see
 * where a slow one waited: due, commit, attempt started, sink received, attempt finished.
 */
function writeRowsCsv(rows: Row[], receivedMs: (row: Row) => number | null, t0Ms: number): void {
  const at = (ms: number | null) => (ms === null ? '' : (ms - t0Ms).toFixed(1));
  const lines = rows
    .map((row) => [row.due_ms, row.commit_ms, row.started_ms, receivedMs(row), row.finished_ms, row.status, row.attempts] as const)
    .sort((x, y) => x[0] - y[0])
    .map(([due, commit, started, received, finished, status, attempts]) =>
      [at(due), at(commit), at(started), at(received), at(finished), status, attempts].join(','),
    );
  writeFileSync(NOTIFICATIONS_CSV, `due_ms,commit_ms,started_ms,received_ms,finished_ms,status,attempts\n${lines.join('\n')}\n`);
}

// --- the run ----------------------------------------------------------------------------------

export async function runNotifyBench(args: NotifyBenchArgs, cleanup: Cleanup): Promise<void> {
  const startedAt = performance.now();
  const code = await codeVersion();
  const [loadBefore = 0] = loadavg();
  const logger = makeLogger();
  const stack = await startStack(cleanup, { commitTimestamps: true });
  if (!stack.commitTimestamps) throw new Error('this mode measures from the commit: it needs track_commit_timestamp = on');
  const databaseUrl = await createBenchDatabase(stack.databaseUrl, logger, cleanup);
  const keyPrefix = `bench:${randomBytes(4).toString('hex')}:`;
  const keys = redisKeys(keyPrefix);
  const redis = await connectRedis(stack.redisUrl, keys, logger, cleanup);
  const pool = createPool({ databaseUrl, applicationName: 'klaxon-bench', max: 4, logger });
  cleanup.add('close the Postgres pool', () => pool.end());
  const clock = new PostgresClock(pool, logger, 30_000);
  await clock.sync();

  const sink = args.channel === 'email' ? await startSmtpSink() : await startHttpSink(args.channel);
  cleanup.add('close the sink', () => sink.close());
  const providerPerSecond = args.providerPerSecond ?? Math.min(100_000, Math.max(50, Math.ceil(2 * args.rate)));
  const { BENCH_SINK_URL: sinkUrl, ...channelEnv } = sink.env;
  const notifierEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: stack.redisUrl,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    NODE_ENV: 'production',
    NOTIFIER_METRICS_PORT: '0',
    PUBLIC_URL: 'http://127.0.0.1:3000',
    // Signed acknowledge/resolve links in every message, as deployed.
    NOTIFY_LINK_KEYS: randomBytes(32).toString('hex'),
    NOTIFY_PROVIDER_PER_SECOND: String(providerPerSecond),
    ...channelEnv,
  };

  const workerStats: WorkerStats = { slowTicks: [], warnings: 0, errors: 0 };
  const notifierStats: NotifierStats = { warnings: 0, errors: 0 };
  progress(
    `starting ${args.workers} worker(s) and ${args.notifiers} notifier(s), channel ${args.channel}, ` +
      `NOTIFY_PROVIDER_PER_SECOND=${providerPerSecond}, sink ${sinkUrl ?? channelEnv.SMTP_URL ?? ''}`,
  );
  const workers = startWorkers(
    { count: args.workers, databaseUrl, redisUrl: stack.redisUrl, keyPrefix, escalationLevels: ESCALATION_LEVELS },
    workerStats,
    cleanup,
  );
  const notifiers = startNotifiers(args.notifiers, notifierEnv, notifierStats, cleanup);
  await waitForWorkers(workers, redis, keys);
  if ((await raceTimeout(Promise.all(notifiers.map((n) => n.ready)), READY_TIMEOUT_MS)) === TIMED_OUT) {
    throw new Error(`the notifiers were not ready within ${READY_TIMEOUT_MS / 1000} s; see ${NOTIFIER_LOG}`);
  }
  const setupS = seconds(startedAt);

  const seedStartedAt = performance.now();
  const total = Math.round(args.rate * args.durationS);
  progress(`seeding ${total} users with a ${args.channel} contact method`);
  const userIds = await seedUsers(pool, args.channel, total, sinkUrl);
  const leadMs = 2_000 + Math.ceil(total / 5);
  const t0Ms = Math.ceil(clock.now().getTime() + leadMs);
  const dueMs = Array.from({ length: total }, (_, i) => t0Ms + Math.floor((i * 1000) / args.rate));
  progress(`seeding ${total} incidents, the first due at T0 = now + ${(leadMs / 1000).toFixed(1)} s`);
  await seedIncidents(pool, redis, keys, args.channel, userIds, dueMs, clock.now());
  const marginMs = t0Ms - clock.now().getTime();
  if (marginMs < 0) throw new Error(`seeding finished ${Math.round(-marginMs)} ms after T0`);
  const seedS = seconds(seedStartedAt);
  progress(`seeded in ${seedS.toFixed(2)} s, ${(marginMs / 1000).toFixed(2)} s before T0`);

  // Wait: the sink's count is free to read (it is in this process).
  const runStartedAt = performance.now();
  const cpuBefore = [...workers, ...notifiers].map((p) => cpuSeconds(p.child.pid));
  const deadline = (dueMs.at(-1) ?? t0Ms) + args.graceMs;
  for (let poll = 1; ; poll += 1) {
    await sleep(POLL_MS);
    const now = clock.now().getTime();
    const arrived = sink.received.size;
    if (poll % 4 === 0 || arrived >= total) {
      const due = dueMs.filter((ms) => ms <= now).length;
      progress(`T0${now >= t0Ms ? '+' : ''}${((now - t0Ms) / 1000).toFixed(1)} s: received ${arrived}/${total}, due ${due}, backlog ${due - arrived}`);
    }
    if (arrived >= total) {
      await sleep(DUPLICATE_WATCH_MS);
      break;
    }
    if (now >= deadline) {
      progress(`grace of ${args.graceMs / 1000} s after the last due time is over: ${total - arrived} not received`);
      break;
    }
  }
  const runS = seconds(runStartedAt);
  const cpuAfter = [...workers, ...notifiers].map((p) => cpuSeconds(p.child.pid));
  const cpu = cpuAfter.map((after, i) => after - (cpuBefore[i] ?? 0));
  for (const p of [...workers, ...notifiers].filter((p) => !isRunning(p.child))) {
    progress(`WARNING: a process exited during the run (pid ${String(p.child.pid)}, code ${String(p.child.exitCode)})`);
  }

  const teardownStartedAt = performance.now();
  progress('stopping the notifiers and the workers (SIGTERM)');
  await stopNotifiers(notifiers);
  await stopWorkers(workers);
  const { rows } = await pool.query<Row>(MEASURE_SQL);
  const counts = await pool.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM notifications GROUP BY status`);
  const byStatus = Object.fromEntries(counts.rows.map((r) => [r.status, r.n])) as Record<string, number>;
  const {
    rows: [executed],
  } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM escalations WHERE escalation_level = 1 AND status = 'EXECUTED'`);
  await cleanup.run();
  const teardownS = seconds(teardownStartedAt);

  // Per notification: commit -> sink (accepted), commit -> finished_at (recorded), and the legs.
  const accepted: number[] = [];
  const recorded: number[] = [];
  const dueToCommit: number[] = [];
  const commitToStart: number[] = [];
  const startToSink: number[] = [];
  const dueToSink: number[] = [];
  let keyed = 0;
  let duplicates = 0;
  let otherStamp = 0;
  let noEvent = 0;
  let twoEvents = 0;
  const notificationKeys = new Set<string>();
  for (const row of rows) {
    const key = sinkKey(args.channel, row.idempotency_key);
    notificationKeys.add(key);
    const got = sink.received.get(key);
    if (!row.same_stamp) otherStamp += 1;
    if (row.events === 0) noEvent += 1;
    if (row.events > 1) twoEvents += 1;
    if (row.commit_ms !== null) dueToCommit.push(row.commit_ms - row.due_ms);
    if (got) {
      keyed += 1;
      duplicates += got.count - 1;
      dueToSink.push(got.firstMs - row.due_ms);
      if (row.commit_ms !== null) accepted.push(got.firstMs - row.commit_ms);
      if (row.started_ms !== null) startToSink.push(got.firstMs - row.started_ms);
    }
    if (row.commit_ms !== null && row.finished_ms !== null) recorded.push(row.finished_ms - row.commit_ms);
    if (row.commit_ms !== null && row.started_ms !== null) commitToStart.push(row.started_ms - row.commit_ms);
  }
  writeRowsCsv(rows, (row) => sink.received.get(sinkKey(args.channel, row.idempotency_key))?.firstMs ?? null, t0Ms);
  const strangers = [...sink.received.keys()].filter((key) => !notificationKeys.has(key)).length;
  const a = dist(accepted);
  const r = dist(recorded);
  const dc = dist(dueToCommit);
  const [loadAfter = 0] = loadavg();

  const workerCpu = cpu.slice(0, workers.length).reduce((s, v) => s + v, 0);
  const notifierCpu = cpu.slice(workers.length).reduce((s, v) => s + v, 0);
  progress(
    `---- ${total} notifications due over ${args.durationS} s at ${args.rate}/s, channel ${args.channel}, ` +
      `${args.workers} worker(s), ${args.notifiers} notifier(s), NOTIFY_PROVIDER_PER_SECOND=${providerPerSecond}`,
  );
  progress(`code: ${code}; ${describeLoad(loadBefore, loadAfter)}`);
  progress(
    `escalations executed ${executed?.n ?? 0}/${total}; outbox rows ${rows.length} (${JSON.stringify(byStatus)}); ` +
      `sink: ${sink.total} requests, ${sink.received.size} distinct keys, duplicates ${duplicates}, missing ${total - keyed}, ` +
      `unkeyed ${sink.unkeyed}, keys of no notification ${strangers}`,
  );
  progress(
    `${otherStamp === 0 && noEvent === 0 && twoEvents === 0 ? '' : 'WARNING: '}xmin check: rows whose committed_at is not their ` +
      `escalation's executed_at ${otherStamp}, without an escalated event ${noEvent}, with two ${twoEvents}`,
  );
  progress(`commit -> sink received (accepted) ms:   ${describe(a)}`);
  progress(`commit -> attempt finished_at ms:        ${describe(r)}`);
  progress(`  due -> commit (workers) ms:            ${describe(dc)}`);
  progress(`  commit -> attempt started_at ms:       ${describe(dist(commitToStart))}  (wake-up, claim, render, provider rate)`);
  progress(`  attempt started_at -> sink ms:         ${describe(dist(startToSink))}  (the request)`);
  progress(`  due -> sink (end to end) ms:           ${describe(dist(dueToSink))}`);
  progress(
    `CPU during the run: workers ${workerCpu.toFixed(1)} s, notifiers ${notifierCpu.toFixed(1)} s over ${runS.toFixed(1)} s; ` +
      `workers ${workerStats.warnings} warnings ${workerStats.errors} errors (${WORKER_LOG}); ` +
      `notifiers ${notifierStats.warnings} warnings ${notifierStats.errors} errors (${NOTIFIER_LOG})`,
  );
  progress(
    `took ${seconds(startedAt).toFixed(1)} s: setup ${setupS.toFixed(1)} s, seeding ${seedS.toFixed(1)} s, run ${runS.toFixed(1)} s, teardown ${teardownS.toFixed(1)} s`,
  );

  const result = {
    notify: args.rate,
    duration_s: args.durationS,
    workers: args.workers,
    notifiers: args.notifiers,
    channel: args.channel,
    provider_per_second: providerPerSecond,
    notifications: rows.length,
    sent: byStatus.SENT ?? 0,
    failed: byStatus.FAILED ?? 0,
    pending: byStatus.PENDING ?? 0,
    skipped: byStatus.SKIPPED ?? 0,
    folded: byStatus.FOLDED ?? 0,
    duplicates,
    missing: total - keyed,
    received: sink.total,
    p50_ms: round1(a.p50),
    p90_ms: round1(a.p90),
    p99_ms: round1(a.p99),
    max_ms: round1(a.max),
    recorded_p50_ms: round1(r.p50),
    recorded_p90_ms: round1(r.p90),
    recorded_p99_ms: round1(r.p99),
    recorded_max_ms: round1(r.max),
    due_to_commit_p99_ms: round1(dc.p99),
    load_before: Math.round(loadBefore * 100) / 100,
    load_after: Math.round(loadAfter * 100) / 100,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** The options of this mode, from scripts/bench.ts's parseArgs values (`notify` is set). */
export function parseNotifyArgs(values: {
  notify?: string;
  duration?: string;
  workers?: string;
  notifiers?: string;
  channel?: string;
  'provider-rate'?: string;
  grace?: string;
  [other: string]: unknown;
}): NotifyBenchArgs {
  for (const flag of ['rate', 'burst', 'api', 'connections', 'lead'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--notify excludes --${flag}`);
  }
  if (values.analyze === true) throw new UsageError('--notify excludes --analyze');
  const rate = positive('--notify', values.notify);
  const durationS = positive('--duration', values.duration ?? '10');
  const total = Math.round(rate * durationS);
  if (total < 1) throw new UsageError('--notify × --duration must be at least 1 notification');
  if (total > 200_000) throw new UsageError('--notify × --duration: at most 200,000 notifications (one user each)');
  const workers = positive('--workers', values.workers ?? '1', { integer: true });
  const notifiers = positive('--notifiers', values.notifiers ?? '1', { integer: true });
  if (workers > 64 || notifiers > 64) throw new UsageError('--workers, --notifiers: at most 64');
  const channel = values.channel ?? 'webhook';
  if (!(NOTIFY_CHANNELS as readonly string[]).includes(channel)) throw new UsageError(`--channel: one of ${NOTIFY_CHANNELS.join(', ')}`);
  const providerRate = values['provider-rate'];
  const providerPerSecond = providerRate === undefined ? undefined : positive('--provider-rate', providerRate, { integer: true });
  const graceMs = positive('--grace', values.grace ?? '5') * 1000;
  return { rate, durationS, workers, notifiers, channel: channel as NotifyChannel, providerPerSecond, graceMs };
}
