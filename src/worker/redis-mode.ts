/**
 * Redis mode: claim due ids from the Redis index in batches (one Lua script, with a
 * lease), execute them (batches.ts), and settle the claims after commit, adding the
 * next levels to the index in the same script.
 *
 * Up to WORKER_CONCURRENCY batches are in flight at once, but the next one is claimed
 * before the one in flight has committed only when there is a backlog (the last claim
 * was full) or that one has been in flight for WORKER_OVERLAP_AFTER (50 ms): a slow
 * batch (a COMMIT stuck on fsync) does not hold the next escalation back for longer.
 * Otherwise the rows falling due while a batch commits gather for the next claim.
 * Claimed at once instead, they made a second batch of a few rows, which paid a whole
 * transaction's statements and interleaved with the first on a Postgres already short
 * of CPU, so both got slower: `npm run -s bench -- --rate 5000 --duration 20
 * --workers 2`, interleaved, p99 at commit 87-187 ms (median 137, six runs) claiming
 * at once, 51-121 ms (median 90, four runs) with this, and 54-115 ms (median 84,
 * fourteen runs) with one batch in flight (WORKER_CONCURRENCY=1), which this matches
 * while keeping the second batch for a backlog and a slow one.
 *
 * It also keeps the index worth trusting: it tells the trust machine (index-trust.ts)
 * what claims see, checks Redis' run id after a reconnection, and runs the rebuilds
 * the machine asks for, in the background. Any Redis failure, a missed deadline
 * included, throws RedisUnavailableError: the worker goes to degraded mode.
 */
import type { Claim } from '../engine/index/queue.ts';
import { RedisQueue, RedisUnavailableError } from '../engine/index/queue.ts';
import { Reconciler } from '../engine/index/reconciler.ts';
import { EpisodeLog } from '../log/episode.ts';
import { type BatchRunner, recordOutcome } from './batches.ts';
import type { TickSummary, WorkerDeps } from './deps.ts';
import { IndexTrust, type RebuildOutcome, type Suspicion } from './index-trust.ts';

/** The longest a drain keeps claiming before it lets index maintenance run. */
const MAX_DRAIN_MS = 250;

/**
 * Rows whose incident another session held are put back this much later, not waited
 * for (issue 10, item 4). Short: the holder is a transition that commits in
 * milliseconds, or a stalled worker whose session Postgres ends within half a lease.
 */
export const HAND_BACK_MS = 50;

export class RedisMode {
  readonly trust: IndexTrust;
  private readonly queue: RedisQueue;
  private readonly reconciler: Reconciler;
  private rebuild: Promise<void> | undefined;
  /** Batches still committing, whatever drain started them: the worker's stop() waits for them. */
  private readonly batches = new Set<Promise<void>>();
  /** Set while a drain waits on its batches: a nudge ends the wait at once. */
  private nudgeWaiting: (() => void) | undefined;
  /** Rebuilds of the index failing: a line when they start to, a count per interval, a line once one succeeds. */
  private readonly rebuildsFailing: EpisodeLog;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly runner: BatchRunner,
  ) {
    this.queue = new RedisQueue(deps.redis, deps.keys);
    this.reconciler = new Reconciler(deps.pool, this.queue, deps.logger, deps.options.reconcilePageSize, deps.clock);
    this.trust = new IndexTrust({
      reconcileIntervalMs: deps.options.reconcileIntervalMs,
      onChange: (from, to) =>
        deps.logger.debug('trust in the Redis index changed', {
          from: from.state,
          to: to.state,
          ...('suspicion' in to ? { reason: to.suspicion.reason } : {}),
        }),
    });
    this.rebuildsFailing = new EpisodeLog(
      deps.logger,
      {
        level: 'warn',
        started: 'rebuilding the Redis index failed; retrying with backoff',
        continuing: 'rebuilding the Redis index still fails',
        ended: 'the Redis index was rebuilt after failures',
      },
      1_000,
      () => this.trust.rebuildsFailing,
    );
  }

  /** A restarted Redis (new run id) may have lost the last writes, even with its data back. */
  async checkRestarted(): Promise<void> {
    if (this.trust.runIdCheckDue) this.trust.runIdSeen(await this.queue.runId());
  }

  /**
   * Claims and executes due batches, up to `concurrency` at once (see the module
   * comment for when the next is claimed before the last has committed), until a
   * claim comes back empty. Under sustained load it returns after MAX_DRAIN_MS asking
   * to be called again at once, so index maintenance still runs between drains.
   * Returns when to look again.
   */
  async drain(summary: TickSummary): Promise<number | null> {
    const { batchSize, leaseMs, concurrency, overlapAfterMs } = this.deps.options;
    const startedAt = performance.now();
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let nextWakeMs: number | null = null;
    /** When the last batch was claimed, and whether its claim was full (more is due: a backlog). */
    let lastClaim = { atMs: 0, full: false };
    try {
      for (;;) {
        if (inFlight.size > 0 && !lastClaim.full) {
          // No backlog: let what falls due gather while the batch in flight commits,
          // unless it is slow. A nudge changes nothing here: whatever it announced is
          // claimed with the rest, by then.
          await this.waitForBatchOrDue(inFlight, lastClaim.atMs + overlapAfterMs, { nudged: false });
          if (failure) break;
        }
        const claim = await this.queue.claimDue(this.deps.clock.now().getTime(), batchSize, leaseMs);
        if (this.trust.markerSeen(claim.indexComplete)) {
          this.deps.logger.warn('the Redis index is incomplete (Redis lost data, or an API owed it too many updates); rebuilding it from Postgres');
        }
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
        lastClaim = { atMs: this.deps.clock.now().getTime(), full: claim.claimed.length >= batchSize };
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

  /** Something due sooner was announced while a drain waits on its batches: look now. */
  nudge(): void {
    this.nudgeWaiting?.();
  }

  /** Starts the rebuild the trust machine asks for, if any, in the background; the worker keeps executing meanwhile. */
  maintain(): void {
    if (this.rebuild) return;
    const suspicion = this.trust.rebuildToStart(this.deps.clock.now().getTime());
    if (suspicion) this.startRebuild(suspicion);
  }

  /** Connected, answering within the deadline (a hung Redis can look connected), and not loading: its run id, else null. */
  async answers(): Promise<string | null> {
    if (!this.deps.redis.isReady) return null;
    try {
      return await this.queue.probe();
    } catch {
      return null;
    }
  }

  /** Back from degraded mode: Redis may have missed anything written meanwhile, so rebuild before trusting it. */
  returned(runId: string): void {
    this.trust.redisReturned(runId);
    this.maintain();
  }

  /** Resolves when the background rebuild, if any, has finished. */
  async indexRebuilt(): Promise<void> {
    while (this.rebuild) await this.rebuild;
  }

  /** Resolves when every batch in flight has settled and no rebuild runs. */
  async idle(): Promise<void> {
    await Promise.all(this.batches);
    await this.indexRebuilt();
  }

  /** Resolves when a batch settles, `dueMs` arrives, or (when `nudged`) a nudge announces something sooner. */
  private async waitForBatchOrDue(inFlight: Set<Promise<void>>, dueMs: number | null, { nudged = true } = {}): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const due = new Promise<void>((resolve) => {
      if (nudged) this.nudgeWaiting = resolve;
      if (dueMs !== null) timer = setTimeout(resolve, Math.max(0, dueMs - this.deps.clock.now().getTime()));
    });
    try {
      await Promise.race([due, ...inFlight]);
    } finally {
      clearTimeout(timer);
      this.nudgeWaiting = undefined;
    }
  }

  private async executeClaim(claim: Claim, summary: TickSummary): Promise<void> {
    const ids = claim.claimed.map((item) => item.id);
    const startedAt = performance.now();
    const outcome = await this.runner.execute(ids);
    recordOutcome(this.deps, summary, outcome);
    const tookMs = performance.now() - startedAt;
    if (tookMs > this.deps.options.slowTickMs) {
      this.deps.logger.warn('slow batch', { took_ms: Math.round(tookMs), size: ids.length });
    }
    // After commit: the claims are done; the next levels, what is not due yet, what
    // another session held (shortly) and what failed (at its retry time) go into the
    // index. A quarantined row does not. If this fails, degraded mode takes over and
    // the index is rebuilt before Redis is used again, so nothing is lost.
    const nowMs = this.deps.clock.now().getTime();
    const { result, failed, untried, interruption } = outcome;
    const handBackAt = new Date(nowMs + HAND_BACK_MS);
    const add = [
      ...result.scheduled,
      ...result.requeued,
      ...result.busy.map((id) => ({ id, dueAt: handBackAt })),
      ...failed.filter((row) => !row.quarantined).map((row) => ({ id: row.escalationId, dueAt: row.retryAt })),
    ];
    let done = ids;
    if (untried.length > 0) {
      // Not run (the database failed, or we stalled): back at their due time, unless
      // our lease ran out, when another worker may hold them already.
      const leaseHeld = nowMs < claim.leaseUntilMs;
      const notRun = new Set(untried);
      if (leaseHeld) {
        for (const item of claim.claimed) if (notRun.has(item.id)) add.push({ id: item.id, dueAt: new Date(item.dueMs > 0 ? item.dueMs : nowMs) });
      } else {
        done = ids.filter((id) => !notRun.has(id));
      }
    }
    try {
      await this.queue.settle(done, add);
    } catch (error) {
      if (interruption && !interruption.stalled) throw interruption.error;
      throw error;
    }
    // A stall is over by now (this worker runs again); the database failing is the tick's failure.
    if (interruption && !interruption.stalled) throw interruption.error;
  }

  private startRebuild(suspicion: Suspicion): void {
    const { reason, lostData } = suspicion;
    // After a loss of data, every worker must distrust the index until the rebuild
    // ends: deleting the marker tells them. A routine rebuild leaves it alone.
    this.rebuild = this.reconciler
      .run(reason, { suspect: lostData })
      .then(
        (report) => ({ report, error: undefined }),
        (error: unknown) => ({ report: undefined, error: error ?? new Error('rebuild failed') }),
      )
      .then(({ report, error }) => {
        // null: another worker holds the rebuild lock; its end shows as the marker reappearing.
        const outcome: RebuildOutcome = error !== undefined ? 'failed' : report === null ? 'lock-held-elsewhere' : 'rebuilt';
        if (outcome === 'rebuilt') this.deps.metrics?.recordReconcilerRun(reason);
        const backoff = this.trust.rebuildEnded(outcome, this.deps.clock.now().getTime());
        if (backoff) this.rebuildsFailing.record({ error, reason, failures: this.trust.failedRebuilds, retry_in_ms: backoff.retryInMs });
      })
      .finally(() => {
        this.rebuild = undefined;
      });
  }
}
