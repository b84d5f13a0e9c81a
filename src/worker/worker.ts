/**
 * The escalation worker: sleeps until the earliest due escalation (woken early by a
 * pub/sub nudge when one due sooner is added), claims due ids from Redis in a batch,
 * executes them in one Postgres transaction, settles the claims, and goes back to
 * sleep. With Redis down, hung (a call missed REDIS_COMMAND_TIMEOUT) or loading, it
 * claims straight from Postgres (degraded mode) and goes back to Redis, after
 * rebuilding the index, when Redis answers again.
 *
 * tick() is one pass and is what tests call; the loop around it (timer, wake-ups,
 * error backoff, shutdown) is start()/stop().
 */
import type pg from 'pg';
import type { Config } from '../config/config.ts';
import type { Clock } from '../clock/clock.ts';
import { type Backoff, backoffMs } from '../clock/deadline.ts';
import type { Timetable } from '../domain/timetable.ts';
import { run, sql } from '../db/queries.ts';
import { inTransaction } from '../db/transaction.ts';
import { EpisodeLog } from '../log/episode.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { type RedisClient, closeRedis, duplicateRedis } from '../redis/client.ts';
import type { RedisKeys } from '../redis/keys.ts';
import { PendingIndex } from '../engine/index/pending.ts';
import { type ExecutionResult, executeEscalations } from '../engine/executor.ts';
import { Reconciler } from '../engine/index/reconciler.ts';
import { type Claim, RedisQueue, RedisUnavailableError } from '../engine/index/queue.ts';

/** The worker's settings (documented where they are loaded: src/config/config.ts). */
export type WorkerOptions = Config['worker'];

export interface WorkerDeps {
  pool: pg.Pool;
  redis: RedisClient;
  keys: RedisKeys;
  clock: Clock;
  timetable: Timetable;
  logger: Logger;
  options: WorkerOptions;
  /** Where executions and index rebuilds are counted (none: not counted). */
  metrics?: Metrics;
  /** Fault injection and observation for tests (die right after claiming; know when a tick ran). */
  hooks?: { afterClaim?: (ids: string[]) => void; afterTick?: (summary: TickSummary) => void };
}

export type WorkerMode = 'redis' | 'degraded';

/** The longest a tick keeps draining before it lets index maintenance run. */
const MAX_DRAIN_MS = 250;

/**
 * Between failed rebuilds of the index. Issue 10: while Redis was restarting, each
 * worker retried (and logged) a rebuild on every tick, dozens of times a second.
 * Meanwhile nothing waits for the rebuild: a worker that distrusts the index also
 * drains Postgres on every tick.
 */
const REBUILD_BACKOFF: Backoff = { baseMs: 500, capMs: 30_000 };

/** After a tick failed (Postgres down, or refusing something). */
const TICK_BACKOFF: Backoff = { baseMs: 200, capMs: 5_000 };

export interface TickSummary {
  mode: WorkerMode;
  claimed: number;
  executed: number;
  cancelled: number;
  skipped: number;
  requeued: number;
  exhausted: number;
  /** When the next escalation or lease falls due (ms), if known. */
  nextWakeMs: number | null;
}

export class Worker {
  private readonly queue: RedisQueue;
  private readonly reconciler: Reconciler;
  private readonly index: PendingIndex;
  private mode: WorkerMode = 'redis';
  private knownRunId: string | undefined;
  private lastReconcileMs = 0;
  /**
   * Why the index cannot be trusted right now (start-up, Redis restarted or came
   * back, the marker is gone), or undefined when it can. While it is set, every tick
   * also executes what is due straight from Postgres, and a rebuild runs in the
   * background: no escalation waits for the rebuild, however large.
   */
  private indexSuspect: string | undefined = 'worker start';
  private rebuild: Promise<void> | undefined;
  /** Rebuilds failed in a row, and when the next may start (Date.now() ms). */
  private rebuildFailures = 0;
  private rebuildRetryAtMs = 0;
  /** Batches still committing, whatever drain started them: stop() waits for them. */
  private readonly batches = new Set<Promise<void>>();

  /** Redis unavailable to this worker: one line when it falls back to Postgres, one when Redis has served it for an interval. */
  private readonly unavailable: EpisodeLog;
  /** Rebuilds of the index failing: a line when they start to, a count per interval, a line once one succeeds. */
  private readonly rebuildsFailing: EpisodeLog;

  // The loop's state.
  private timer: NodeJS.Timeout | undefined;
  private plannedWakeMs = Number.POSITIVE_INFINITY;
  private ticking: Promise<void> | undefined;
  /** The earliest due time announced while a tick was running. */
  private wakeDuringTickMs = Number.POSITIVE_INFINITY;
  /** Set while a drain waits on its batches: a nudge ends the wait at once. */
  private nudgeDuringTick: (() => void) | undefined;
  /** Set when Redis (re)connects: its run id must be checked before trusting the index. */
  private runIdCheckDue = true;
  private stopping = false;
  private started = false;
  private consecutiveErrors = 0;
  private subscriber: RedisClient | undefined;

  constructor(private readonly deps: WorkerDeps) {
    this.queue = new RedisQueue(deps.redis, deps.keys);
    this.reconciler = new Reconciler(deps.pool, this.queue, deps.logger, deps.options.reconcilePageSize);
    this.index = new PendingIndex(deps.redis, deps.keys, deps.logger);
    this.unavailable = new EpisodeLog(
      deps.logger,
      {
        level: 'warn',
        started: 'Redis is unavailable: claiming escalations from Postgres until it returns',
        ended: 'Redis is back: claiming escalations from Redis again',
      },
      1_000,
      () => this.mode === 'degraded',
    );
    this.rebuildsFailing = new EpisodeLog(
      deps.logger,
      {
        level: 'warn',
        started: 'rebuilding the Redis index failed; retrying with backoff',
        continuing: 'rebuilding the Redis index still fails',
        ended: 'the Redis index was rebuilt after failures',
      },
      1_000,
      () => this.rebuildFailures > 0,
    );
    // A reconnection may be to a restarted Redis: check its run id on the next tick
    // (and, when the loop runs, look at once: degraded mode ends there).
    deps.redis.on('ready', this.onRedisReady);
  }

  /** One pass: execute everything due now, then say when to come back. */
  async tick(): Promise<TickSummary> {
    const startedAt = performance.now();
    const summary = emptySummary(this.mode);
    if (this.mode === 'redis') {
      try {
        await this.checkRedisRestarted();
        summary.nextWakeMs = await this.drainRedis(summary);
        if (this.indexSuspect !== undefined) {
          this.rebuildIndex(this.indexSuspect);
          const fromPostgres = await this.drainPostgres(summary, { syncIndex: true });
          summary.nextWakeMs = Math.min(summary.nextWakeMs ?? Number.POSITIVE_INFINITY, fromPostgres);
        } else if (Date.now() - this.lastReconcileMs >= this.deps.options.reconcileIntervalMs) {
          this.rebuildIndex('periodic');
        }
      } catch (error) {
        if (!(error instanceof RedisUnavailableError)) throw error;
        this.enterDegradedMode(error);
      }
    }
    if (this.mode === 'degraded') {
      summary.nextWakeMs = await this.drainPostgres(summary);
      // Only after the due work is done. Free while Redis is down (not connected) or
      // known to hang (calls fail at once until it answers); otherwise at most one deadline.
      if (await this.redisAnswers()) this.leaveDegradedMode();
    }
    summary.mode = this.mode;

    this.deps.hooks?.afterTick?.(summary);
    const tookMs = performance.now() - startedAt;
    if (tookMs > this.deps.options.slowTickMs) {
      this.deps.logger.warn('slow tick', { took_ms: Math.round(tookMs), ...summary });
    }
    return summary;
  }

  /** Executes every escalation due now straight from Postgres, then returns (cron mode). */
  async runOnce(): Promise<TickSummary> {
    const summary = emptySummary('degraded');
    summary.nextWakeMs = await this.drainPostgres(summary, { syncIndex: true });
    return summary;
  }

  // --- Redis mode ---------------------------------------------------------------

  /**
   * Claims and executes due batches, up to `concurrency` at once, until a claim
   * comes back empty. Under sustained load it returns after MAX_DRAIN_MS asking to
   * be called again at once, so index maintenance still runs between drains.
   */
  private async drainRedis(summary: TickSummary): Promise<number | null> {
    const { batchSize, leaseMs, concurrency } = this.deps.options;
    const startedAt = performance.now();
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let nextWakeMs: number | null = null;
    try {
      for (;;) {
        const claim = await this.queue.claimDue(this.deps.clock.now().getTime(), batchSize, leaseMs);
        this.noteIndexMarker(claim.indexComplete);
        if (claim.claimed.length === 0) {
          if (inFlight.size === 0) {
            nextWakeMs = claim.nextWakeMs;
            break;
          }
          // Our own batches are still committing (their leases are not a reason to
          // wake). Do not wait for them to claim what falls due meanwhile: a COMMIT
          // stuck on fsync must not hold the next escalation back.
          await this.waitForBatchOrDue(inFlight, claim.nextDueMs);
          if (failure) break;
          continue;
        }
        summary.claimed += claim.claimed.length;
        this.deps.hooks?.afterClaim?.(claim.claimed.map((item) => item.id));
        const batch: Promise<void> = this.executeClaim(claim, summary)
          .catch((error: unknown) => {
            failure ??= { error };
          })
          .finally(() => {
            inFlight.delete(batch);
            this.batches.delete(batch);
          });
        inFlight.add(batch);
        this.batches.add(batch);
        if (inFlight.size >= concurrency) await Promise.race(inFlight);
        if (failure) break;
        if (performance.now() - startedAt > MAX_DRAIN_MS) {
          nextWakeMs = this.deps.clock.now().getTime();
          break;
        }
      }
    } catch (error) {
      // A claim failed (Redis is down or missed its deadline): degraded mode takes
      // over at once, without waiting for our batches still committing. They finish
      // on their own (stop() waits for them); one failing for another reason than
      // Redis is still told.
      void Promise.all(inFlight).then(() => {
        if (failure && !(failure.error instanceof RedisUnavailableError)) {
          this.deps.logger.error('a batch failed while the worker fell back to Postgres', { error: failure.error });
        }
      });
      throw error;
    }
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    return nextWakeMs;
  }

  /** Resolves when a batch settles, `dueMs` arrives, or a nudge announces something sooner. */
  private async waitForBatchOrDue(inFlight: Set<Promise<void>>, dueMs: number | null): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const due = new Promise<void>((resolve) => {
      this.nudgeDuringTick = resolve;
      if (dueMs !== null) timer = setTimeout(resolve, Math.max(0, dueMs - this.deps.clock.now().getTime()));
    });
    try {
      await Promise.race([due, ...inFlight]);
    } finally {
      clearTimeout(timer);
      this.nudgeDuringTick = undefined;
    }
  }

  private async executeClaim(claim: Claim, summary: TickSummary): Promise<void> {
    const ids = claim.claimed.map((item) => item.id);
    const startedAt = performance.now();
    let result: ExecutionResult;
    try {
      result = await inTransaction(this.deps.pool, (client) => executeEscalations(client, this.deps, ids));
    } catch (error) {
      await this.releaseClaims(claim);
      throw error;
    }
    this.record(summary, result);
    const tookMs = performance.now() - startedAt;
    if (tookMs > this.deps.options.slowTickMs) {
      this.deps.logger.warn('slow batch', { took_ms: Math.round(tookMs), size: ids.length });
    }
    // After commit: the claims are done, the next levels (and anything not yet
    // due) go into the index. If this fails, degraded mode takes over and the
    // index is rebuilt before Redis is used again, so nothing is lost.
    await this.queue.settle(ids, [...result.scheduled, ...result.requeued]);
  }

  /** Puts claims back after a failed execution, so they need not wait for the lease. */
  private async releaseClaims(claim: Claim): Promise<void> {
    const now = this.deps.clock.now();
    const back = claim.claimed.map((item) => ({ id: item.id, dueAt: item.dueMs > 0 ? new Date(item.dueMs) : now }));
    await this.queue.settle(back.map((item) => item.id), back).catch((error: unknown) => {
      this.deps.logger.warn('could not release claims; they come back when their lease expires', { error });
    });
  }

  /**
   * The marker is deleted when a suspect rebuild starts and set when any rebuild
   * ends: missing means Redis lost data or a rebuild is under way; present while we
   * suspect the index means another worker's rebuild has finished.
   */
  private noteIndexMarker(present: boolean): void {
    if (!present && this.indexSuspect === undefined) {
      this.indexSuspect = 'index marker missing';
      this.deps.logger.warn('the Redis index is incomplete (Redis lost data, or an API owed it too many updates); rebuilding it from Postgres');
    } else if (present && this.indexSuspect !== undefined && this.rebuild === undefined && this.lastRebuildDeferred) {
      this.indexSuspect = undefined;
    }
  }

  private lastRebuildDeferred = false;

  /** A restarted Redis (new run id) may have lost the last writes, even with its data back. */
  private async checkRedisRestarted(): Promise<void> {
    if (!this.runIdCheckDue) return;
    const runId = await this.queue.runId();
    this.runIdCheckDue = false;
    if (this.knownRunId !== undefined && runId !== this.knownRunId) {
      this.indexSuspect = 'Redis restarted (run id changed)';
    }
    this.knownRunId = runId;
  }

  /**
   * Starts a rebuild in the background unless one is running or the last one failed
   * less than its backoff ago; the worker keeps executing meanwhile.
   */
  private rebuildIndex(reason: string): void {
    if (this.rebuild || Date.now() < this.rebuildRetryAtMs) return;
    this.lastReconcileMs = Date.now();
    // After a loss of data, every worker must distrust the index until the rebuild
    // ends: deleting the marker tells them. A routine rebuild leaves it alone.
    const suspect = reason !== 'periodic' && reason !== 'worker start';
    this.rebuild = this.reconciler
      .run(reason, { suspect })
      .then((report) => {
        this.rebuildFailures = 0;
        // null: another worker holds the rebuild lock; its end shows as the marker reappearing.
        this.lastRebuildDeferred = report === null;
        if (report !== null) this.deps.metrics?.recordReconcilerRun(reason);
        if (report !== null && this.indexSuspect === reason) this.indexSuspect = undefined;
      })
      .catch((error: unknown) => {
        this.rebuildFailures += 1;
        const retryInMs = Math.round(backoffMs(this.rebuildFailures, REBUILD_BACKOFF));
        this.rebuildRetryAtMs = Date.now() + retryInMs;
        this.rebuildsFailing.record({ error, reason, failures: this.rebuildFailures, retry_in_ms: retryInMs });
      })
      .finally(() => {
        this.rebuild = undefined;
      });
  }

  /** For tests: resolves when the background rebuild, if any, has finished. */
  async indexRebuilt(): Promise<void> {
    while (this.rebuild) await this.rebuild;
  }

  // --- degraded mode ------------------------------------------------------------

  /**
   * Logged as an episode: a line now unless one is open, and the line saying Redis is
   * back once it has served a whole interval, so a Redis that flaps (answers PING,
   * fails claims) does not log two lines per tick.
   */
  private enterDegradedMode(error: RedisUnavailableError): void {
    this.mode = 'degraded';
    this.unavailable.record({ error: error.message });
  }

  /** Connected, answering within the deadline (a hung Redis can look connected), and not loading. */
  private async redisAnswers(): Promise<boolean> {
    if (!this.deps.redis.isReady) return false;
    try {
      // Whatever its run id now, the rebuild that follows covers what it lost.
      this.knownRunId = await this.queue.probe();
      return true;
    } catch {
      return false;
    }
  }

  private leaveDegradedMode(): void {
    // Redis may have lost anything written while it was away: distrust the index
    // until it is rebuilt (in the background; meanwhile Postgres is drained too).
    this.mode = 'redis';
    this.indexSuspect = 'Redis returned';
    this.runIdCheckDue = false;
    this.rebuildIndex(this.indexSuspect);
    this.deps.logger.debug('Redis answers: claiming escalations from Redis again');
  }

  /**
   * Claims due rows from Postgres with SKIP LOCKED (several workers share the work)
   * and executes them in the same transaction, batch after batch.
   */
  private async drainPostgres(summary: TickSummary, { syncIndex = false } = {}): Promise<number> {
    const { batchSize, degradedPollMs } = this.deps.options;
    for (;;) {
      const { claimed, result } = await inTransaction(this.deps.pool, async (client) => {
        const due = await run<{ id: string }>(client, sql('escalations-claim-due'), [this.deps.clock.now(), batchSize]);
        const ids = due.map((row) => row.id);
        return { claimed: ids.length, result: await executeEscalations(client, this.deps, ids) };
      });
      summary.claimed += claimed;
      this.record(summary, result);
      if (syncIndex && this.mode === 'redis') {
        const settled = [...result.executed.map((row) => row.id), ...result.cancelled];
        await this.index.applyAfterCommit({ add: result.scheduled, remove: settled });
      }
      if (claimed < batchSize) break;
    }
    const [row] = await run<{ next_due: Date | null }>(this.deps.pool, sql('escalations-next-due'), []);
    const pollAt = this.deps.clock.now().getTime() + degradedPollMs;
    return row?.next_due ? Math.min(row.next_due.getTime(), pollAt) : pollAt;
  }

  /** Adds a committed batch to the tick's summary and to the metrics. */
  private record(summary: TickSummary, result: ExecutionResult): void {
    add(summary, result);
    this.deps.metrics?.recordExecution(result);
  }

  // --- the loop -------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.started) throw new Error('worker already started');
    this.started = true;
    this.subscriber = duplicateRedis(this.deps.redis);
    this.subscriber.on('ready', () => void this.subscribe());
    this.subscriber.connect().catch(() => undefined);
    this.schedule(0);
    await Promise.resolve();
  }

  private readonly onRedisReady = () => {
    this.runIdCheckDue = true;
    this.wake(0);
  };

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber?.subscribe(this.deps.keys.wakeChannel, (message) => this.wake(Number(message)));
    } catch (error) {
      this.deps.logger.debug('wake-up subscription failed; relying on the maximum sleep', { error });
    }
  }

  /** Something due at `dueMs` was added: come back by then. */
  wake(dueMs: number): void {
    if (this.stopping || !this.started || Number.isNaN(dueMs)) return;
    if (this.ticking) {
      // The tick's last claim may have looked before this was added: remember it.
      this.wakeDuringTickMs = Math.min(this.wakeDuringTickMs, dueMs);
      this.nudgeDuringTick?.();
      return;
    }
    if (dueMs < this.plannedWakeMs) this.schedule(dueMs);
  }

  private schedule(atMs: number): void {
    clearTimeout(this.timer);
    const now = this.deps.clock.now().getTime();
    const delay = Math.max(0, Math.min(atMs - now, this.deps.options.maxSleepMs));
    this.plannedWakeMs = now + delay;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.plannedWakeMs = Number.POSITIVE_INFINITY;
      this.ticking = this.loopOnce().finally(() => {
        this.ticking = undefined;
      });
    }, delay);
  }

  private async loopOnce(): Promise<void> {
    let nextWakeMs: number | null;
    this.wakeDuringTickMs = Number.POSITIVE_INFINITY;
    try {
      nextWakeMs = (await this.tick()).nextWakeMs;
      this.consecutiveErrors = 0;
    } catch (error) {
      this.consecutiveErrors += 1;
      // Postgres is down or refused something: retry with capped, jittered backoff.
      const retryInMs = backoffMs(this.consecutiveErrors, TICK_BACKOFF);
      this.deps.logger.error('worker tick failed; retrying', {
        error,
        consecutive_errors: this.consecutiveErrors,
        retry_in_ms: Math.round(retryInMs),
      });
      nextWakeMs = this.deps.clock.now().getTime() + retryInMs;
    }
    if (!this.stopping) this.schedule(Math.min(nextWakeMs ?? Number.POSITIVE_INFINITY, this.wakeDuringTickMs));
  }

  /** Stops claiming, lets the batches in flight finish (they settle their own claims), and disconnects the subscriber. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.deps.redis.off('ready', this.onRedisReady);
    await this.ticking;
    await Promise.all(this.batches);
    await this.indexRebuilt();
    if (this.subscriber) {
      const subscriber = this.subscriber;
      this.subscriber = undefined;
      await closeRedis(subscriber);
    }
  }
}

function emptySummary(mode: WorkerMode): TickSummary {
  return { mode, claimed: 0, executed: 0, cancelled: 0, skipped: 0, requeued: 0, exhausted: 0, nextWakeMs: null };
}

function add(summary: TickSummary, result: ExecutionResult): void {
  summary.executed += result.executed.length;
  summary.cancelled += result.cancelled.length;
  summary.skipped += result.skipped.length;
  summary.requeued += result.requeued.length;
  summary.exhausted += result.exhausted.length;
}
