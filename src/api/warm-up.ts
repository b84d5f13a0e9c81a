/**
 * A starting API process warms up before it listens, in two steps:
 *
 * 1. It serves itself real requests (incidents opened and escalated, alerts triggered
 *    and repeated, a list read) through the whole app: HTTP parsing, the middleware,
 *    validation, authentication, the commands, pg, the rate limiter's Redis calls, the
 *    presenters. So V8 has compiled that code before the first caller arrives.
 * 2. It has every connection of its pool plan the statements those requests ran
 *    (src/db/plan-ahead.ts: read-only transactions, rolled back), so no caller waits
 *    for a backend planning, or loading its catalogs, either.
 *
 * Why: a fresh process runs its code cold, interpreted at first and then compiled by V8
 * on the very cores Postgres needs, and its connections' backends have planned
 * nothing. Measured, `npm run -s bench -- --api 800`: for its first three seconds a
 * cold API used 95-115 % of a core where a warm one uses about 70 % for the same
 * requests, and the first two seconds' answers (p99 245-517 ms) set the p99 of a
 * 20-second run whose later windows all held 17-48 ms.
 *
 * Nothing of step 1 reaches the real tables, nor the Redis index: its requests run on
 * an app of their own (createApp over the same code), whose pool is a shadow session
 * (src/db/shadow.ts: temporary copies of the tables, and Postgres refusing any write to
 * a real one), whose pending index has no Redis client, whose rate-limit buckets have
 * a key prefix of their own (and expire by themselves), whose logger is silent and whose
 * metrics are its own. It makes its own token, person, policy, service and integration
 * key in the copies, through the API, as a client would. Its app listens on a Unix
 * socket in a directory only this user may enter, so no address is open to anyone else
 * meanwhile; the copies, the token and the socket go when it ends.
 *
 * API_WARM_UP sets the number of requests (after the four of the seeding); 0 turns the
 * warm-up off. The requests never go on longer than TIME_BUDGET_MS, the planning no
 * longer than PLANNING_BUDGET_MS (on a Postgres already struggling, a start that restarts
 * several APIs must not add much to its load), and the requests stop at the
 * first answer that is not what they expect: a warm-up that fails is logged once, and
 * the process starts anyway.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import { ensureEnvironmentToken, newTokenString } from '../commands/tokens.ts';
import { planAhead } from '../db/plan-ahead.ts';
import { openShadowPool } from '../db/shadow.ts';
import { runLanes } from '../domain/lanes.ts';
import type { Logger } from '../log/logger.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { PendingIndex } from '../engine/index/pending.ts';
import { redisKeys } from '../redis/keys.ts';
import { closeHttpServer, createApp, createHttpServer } from './app.ts';
import { type AppDeps, createApiDeps } from './deps.ts';

/** The longest its requests go on, whatever API_WARM_UP asks (the planning follows, then the process listens). */
export const TIME_BUDGET_MS = 3_000;
/** The longest the planning goes on: it takes 0.6-0.9 s on the bench's machine, for 23 statements on 10 connections. */
export const PLANNING_BUDGET_MS = 2_000;
/** Requests in flight at once: enough to interleave them as a loaded process does. */
const CONCURRENCY = 4;
/** Its server's keep-alive: the warm-up's client closes its connections first. */
const IDLE_MS = 5_000;
/** Limits the warm-up's own token, key and service never reach (the most an integration key may have). */
const UNLIMITED = Object.freeze({ ratePerMinute: 100_000, burst: 100_000 });

/** What the warm-up's own app shares with the process' (main/api.ts passes its AppDeps). */
export type WarmUpBase = Pick<AppDeps, 'pool' | 'redis' | 'clock' | 'timetable' | 'bodyLimitBytes' | 'maxInFlight' | 'notify' | 'checkResponses'>;

export interface ApiWarmUpOptions {
  /** The process' dependencies: its pool gets the statements planned; the rest is shared with the warm-up's app. */
  deps: WarmUpBase;
  /** Connections of deps.pool to plan the statements on (all of them). */
  poolSize: number;
  databaseUrl: string;
  /** config `database.role`: the copies are made, and the requests served, as the process acts. */
  role: string;
  /** The real keys' prefix (REDIS_KEY_PREFIX): the warm-up's rate-limit buckets go under it. */
  redisKeyPrefix: string;
  /** Requests to serve after the seeding (API_WARM_UP); 0: no warm-up at all. */
  requests: number;
  logger: Logger;
  /** The longest the requests go on (default TIME_BUDGET_MS). */
  budgetMs?: number;
  /** The longest the planning goes on (default PLANNING_BUDGET_MS). */
  planningBudgetMs?: number;
  /** Aborted when the process is told to stop: no request is sent, and no statement planned, after it. */
  signal?: AbortSignal;
}

export interface ApiWarmUpOutcome {
  /** Requests answered as expected, the seeding's included. */
  served: number;
  /** Statements run on the real pool's connections to be planned (src/db/plan-ahead.ts). */
  planned: number;
  /**
   * done: all it was asked; budget: out of time, for the requests (the statements they
   * ran are planned all the same) or the planning; stopped: the process is stopping;
   * off: API_WARM_UP=0; failed: see the warning.
   */
  ended: 'done' | 'budget' | 'stopped' | 'off' | 'failed';
  tookMs: number;
}

/** Warms the API up (see the module comment); logs one line, and never throws. */
export async function warmUpApi(options: ApiWarmUpOptions): Promise<ApiWarmUpOutcome> {
  const startedAt = performance.now();
  if (options.requests === 0) return { served: 0, planned: 0, ended: 'off', tookMs: 0 };
  const progress: Progress = { served: 0, planned: 0 };
  let ended: ApiWarmUpOutcome['ended'];
  try {
    ended = await warmUp(options, startedAt, progress);
  } catch (error) {
    ended = 'failed';
    options.logger.warn('the API warm-up failed; serving without it', { error, requests: progress.served });
  }
  const tookMs = Math.round(performance.now() - startedAt);
  if (ended !== 'failed') options.logger.info('warmed up', { requests: progress.served, statement_runs: progress.planned, ended, took_ms: tookMs });
  return { ...progress, ended, tookMs };
}

interface Progress {
  served: number;
  planned: number;
}

async function warmUp(options: ApiWarmUpOptions, startedAt: number, progress: Progress): Promise<ApiWarmUpOutcome['ended']> {
  const { signal } = options;
  const shadow = await openShadowPool({ databaseUrl: options.databaseUrl, role: options.role, applicationName: 'klaxon-api-warm-up', logger: options.logger });
  const silent = winston.createLogger({ silent: true });
  const keys = redisKeys(`${options.redisKeyPrefix}api-warm-up:${randomBytes(6).toString('hex')}:`);
  const deps = createApiDeps({
    ...options.deps,
    pool: shadow.pool,
    keys,
    // No Redis: the index must never hold an escalation of the copies.
    pendingIndex: new PendingIndex(null, keys, silent),
    logger: silent,
    metrics: createMetrics({ processMetrics: false }),
    rateLimit: UNLIMITED,
    addressRateLimit: UNLIMITED,
    intakeRateLimit: UNLIMITED,
    intakeStormPerMinute: UNLIMITED.burst,
  });
  const server = createHttpServer(createApp(deps), IDLE_MS);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let directory: string | undefined;
  // An object: the lanes end it from their closures.
  const state: { ended: ApiWarmUpOutcome['ended'] } = { ended: 'done' };
  try {
    directory = await mkdtemp(join(tmpdir(), 'klaxon-api-warm-up-'));
    const socketPath = join(directory, 'api.sock');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
    const token = newTokenString();
    await ensureEnvironmentToken(deps, token);
    const client = new WarmUpClient(agent, socketPath, token, progress);
    const routingKey = await seed(client);

    const deadline = startedAt + (options.budgetMs ?? TIME_BUDGET_MS);
    let sent = 0;
    const lane = async () => {
      while (sent < options.requests && state.ended === 'done') {
        if (signal?.aborted) state.ended = 'stopped';
        else if (performance.now() > deadline) state.ended = 'budget';
        // Its copies went with the lost connection: a write would now be refused, a read see real rows.
        else if (shadow.remade) throw new Error('the warm-up lost its Postgres connection');
        else {
          const n = sent;
          sent += 1;
          await client.call(...requestFor(n, routingKey));
        }
      }
    };
    // Every lane ends before the copies go; a failed one ends the others.
    const failure = await runLanes(CONCURRENCY, lane, () => {
      state.ended = 'failed';
    });
    if (failure) throw failure.reason;
  } finally {
    agent.destroy();
    if (server.listening) await closeHttpServer(server);
    // The audit rows of refused requests are written from a queue, to the copies.
    await deps.audit.idle();
    await shadow.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  }
  if (state.ended === 'stopped') return 'stopped';
  const outOfTime = AbortSignal.timeout(options.planningBudgetMs ?? PLANNING_BUDGET_MS);
  progress.planned = await planAhead(options.deps.pool, shadow.statements(), options.poolSize, signal ? AbortSignal.any([signal, outOfTime]) : outOfTime);
  if (signal?.aborted) return 'stopped';
  return outOfTime.aborted ? 'budget' : state.ended;
}

type Call = [method: 'GET' | 'POST', path: string, body: unknown, expected: number];

/** Request n of the warm-up: what a loaded API serves most, in turn. */
function requestFor(n: number, routingKey: string): Call {
  const alert = (key: string): Call => [
    'POST',
    '/v2/enqueue',
    {
      routing_key: routingKey,
      event_action: 'trigger',
      dedup_key: key,
      // Every field monitoring fills in, so that the code reading each one is warm too.
      payload: {
        summary: `warm-up alert ${key}`,
        source: 'klaxon-warm-up',
        severity: 'critical',
        timestamp: new Date().toISOString(),
        component: 'warm-up',
        group: 'warm-up',
        class: 'warm-up',
        custom_details: { n, key },
      },
      links: [{ href: 'https://klaxon.invalid/warm-up', text: 'warm-up' }],
    },
    202,
  ];
  switch (n % 4) {
    case 0:
      return ['POST', '/incidents', { title: `warm-up ${n}`, escalate: true }, 201];
    case 1:
      return alert(`warm-up-${n}`);
    case 2:
      // A repeat of the previous alert: deduplicated.
      return alert(`warm-up-${n - 1}`);
    default:
      return ['GET', '/incidents?limit=20', undefined, 200];
  }
}

/** A person, a policy paging them, a service on it and its integration key, as a client would make them; the key. */
async function seed(client: WarmUpClient): Promise<string> {
  const user = await client.call('POST', '/users', { name: 'Warm-up', email: 'warm-up@klaxon.invalid' }, 201);
  const policy = await client.call(
    'POST',
    '/escalation-policies',
    { name: 'warm-up', levels: [{ delay: '5m', targets: [{ type: 'user', id: user.id }] }] },
    201,
  );
  const service = await client.call('POST', '/services', { name: 'warm-up', escalation_policy_id: policy.id }, 201);
  const limits = { rate_per_minute: UNLIMITED.ratePerMinute, rate_burst: UNLIMITED.burst };
  const key = await client.call('POST', `/services/${String(service.id)}/integration-keys`, { name: 'warm-up', ...limits }, 201);
  return String(key.key);
}

class WarmUpClient {
  constructor(
    private readonly agent: Agent,
    private readonly socketPath: string,
    private readonly token: string,
    /** Counts every answer that was what the call expected. */
    private readonly progress: Progress,
  ) {}

  /** The answer's JSON body, counted as served; throws when its status is not `expected`. */
  call(method: string, path: string, body: unknown, expected: number): Promise<Record<string, unknown>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          socketPath: this.socketPath,
          method,
          path,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== expected) {
              reject(new Error(`${method} ${path} answered ${String(res.statusCode)}: ${text.slice(0, 300)}`));
              return;
            }
            let answer: Record<string, unknown>;
            try {
              answer = JSON.parse(text) as Record<string, unknown>;
            } catch {
              reject(new Error(`${method} ${path} answered ${String(res.statusCode)} with a body that is not JSON: ${text.slice(0, 300)}`));
              return;
            }
            this.progress.served += 1;
            resolve(answer);
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}
