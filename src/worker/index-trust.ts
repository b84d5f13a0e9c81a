/**
 * How far a worker trusts the Redis index, as one state machine (issue 10, item 3:
 * it was five fields and reason strings in the worker). Redis is only an index
 * (DESIGN.md, invariant 1): when this worker has just started, or Redis may have lost
 * data (it restarted, came back after an outage, or lost the index marker), the
 * worker distrusts the index, which means it drains Postgres on every tick as well,
 * and rebuilds it from Postgres in the background; once rebuilt, it trusts it again.
 * Nothing waits for a rebuild, however large.
 *
 * The machine decides and does no I/O, so its transitions are tested alone
 * (test/worker/index-trust.test.ts). The Redis mode (redis-mode.ts) tells it what it
 * sees (the marker in a claim's answer, Redis' run id, how a rebuild ended), starts
 * the rebuilds it asks for, and logs. Times are the injected clock's milliseconds.
 */
import { type Backoff, backoffMs } from '../clock/deadline.ts';

/** The states, each with what it means for the worker. */
export const IndexTrustState = {
  /** The index holds every PENDING row: claims come from Redis alone. */
  trusted: 'trusted',
  /** Still trusted, while a routine rebuild of ours (periodic) runs in the background. */
  refreshing: 'refreshing',
  /** Distrusted: every tick also drains Postgres; a rebuild starts on the next tick. */
  suspect: 'suspect',
  /** Distrusted; our rebuild for the suspicion runs, and restores trust when it ends. */
  rebuilding: 'rebuilding',
  /**
   * Distrusted; a rebuild of ours runs, but it began before the latest suspicion (a
   * routine one when Redis lost data, or one Redis restarted under), so it cannot
   * restore trust: when it ends, the worker is suspect again and rebuilds anew.
   */
  rebuildingStale: 'rebuilding-stale',
  /** Distrusted; our last rebuild failed: the next starts at `retryAtMs` (capped, jittered backoff). */
  rebuildBackoff: 'rebuild-backoff',
  /**
   * Distrusted; another worker holds the rebuild lock: trusted when a claim sees the
   * index marker it sets at the end (meanwhile each tick tries the lock again, in case
   * that worker died).
   */
  awaitingOtherRebuild: 'awaiting-other-rebuild',
} as const;

export type IndexTrustStateName = (typeof IndexTrustState)[keyof typeof IndexTrustState];

/** Why the index is distrusted; `lostData`: Redis may have lost writes (not just "we have not looked yet"). */
export interface Suspicion {
  reason: string;
  /**
   * A rebuild for it first deletes the index marker, so that every worker distrusts
   * the index until the rebuild ends; a routine one (start-up, periodic) leaves it.
   */
  lostData: boolean;
}

export type IndexTrustStatus =
  | { state: 'trusted' }
  | { state: 'refreshing' }
  | { state: 'suspect'; suspicion: Suspicion }
  | { state: 'rebuilding'; suspicion: Suspicion }
  /** `suspicion`: the one the next rebuild is for. */
  | { state: 'rebuilding-stale'; suspicion: Suspicion }
  | { state: 'rebuild-backoff'; suspicion: Suspicion; retryAtMs: number }
  | { state: 'awaiting-other-rebuild'; suspicion: Suspicion };

/** The moves allowed from each state (a move to the same state updates its data). */
const TRANSITIONS: Readonly<Record<IndexTrustStateName, readonly IndexTrustStateName[]>> = {
  trusted: ['refreshing', 'suspect'],
  refreshing: ['trusted', 'rebuilding-stale'],
  suspect: ['suspect', 'rebuilding'],
  rebuilding: ['trusted', 'awaiting-other-rebuild', 'rebuild-backoff', 'rebuilding-stale'],
  'rebuilding-stale': ['rebuilding-stale', 'suspect', 'rebuild-backoff'],
  'rebuild-backoff': ['rebuild-backoff', 'rebuilding'],
  'awaiting-other-rebuild': ['awaiting-other-rebuild', 'trusted', 'suspect', 'rebuilding'],
};

/** A move the table does not allow: a bug in the machine, never a condition of the world. */
export class IndexTrustTransitionError extends Error {
  readonly code = 'index_trust_transition';
  constructor(
    readonly from: IndexTrustStateName,
    readonly to: IndexTrustStateName,
  ) {
    super(`index trust cannot move from ${from} to ${to}`);
    this.name = 'IndexTrustTransitionError';
  }
}

export function assertTransition(from: IndexTrustStateName, to: IndexTrustStateName): void {
  if (!TRANSITIONS[from].includes(to)) throw new IndexTrustTransitionError(from, to);
}

/** How a rebuild ended: it completed, another process held the lock (nothing done), or it failed. */
export type RebuildOutcome = 'rebuilt' | 'lock-held-elsewhere' | 'failed';

/**
 * Between failed rebuilds. Issue 10: while Redis was restarting, each worker retried
 * (and logged) a rebuild on every tick, dozens of times a second. Nothing waits for
 * the rebuild meanwhile: a worker that distrusts the index drains Postgres every tick.
 */
export const REBUILD_BACKOFF: Backoff = { baseMs: 500, capMs: 30_000 };

export const WORKER_START: Suspicion = { reason: 'worker start', lostData: false };
export const PERIODIC = 'periodic';

export interface IndexTrustOptions {
  /** How often a trusted index is rebuilt anyway (RECONCILE_INTERVAL). */
  reconcileIntervalMs: number;
  /** The backoff's jitter (tests pin it). */
  random?: () => number;
  /** Told every change of state (the worker logs it at debug level). */
  onChange?: (from: IndexTrustStatus, to: IndexTrustStatus) => void;
}

export class IndexTrust {
  private current: IndexTrustStatus = { state: 'suspect', suspicion: WORKER_START };
  /** Rebuilds failed in a row (reset by any that ends otherwise). */
  private failures = 0;
  /** A failed routine rebuild is not retried before this (a distrusted index keeps it in its state). */
  private routineRetryAtMs = Number.NEGATIVE_INFINITY;
  private lastRebuildStartMs = Number.NEGATIVE_INFINITY;
  /** Redis' run id when last seen; it changes when Redis restarts, which may lose the last writes. */
  private knownRunId: string | undefined;
  private runIdUnchecked = true;

  constructor(private readonly options: IndexTrustOptions) {}

  get status(): IndexTrustStatus {
    return this.current;
  }

  get state(): IndexTrustStateName {
    return this.current.state;
  }

  /** Whether claims from Redis alone find everything due. */
  get trusted(): boolean {
    return this.current.state === 'trusted' || this.current.state === 'refreshing';
  }

  /** Whether the last rebuild failed (an episode of failing rebuilds is going on). */
  get rebuildsFailing(): boolean {
    return this.failures > 0;
  }

  /** Consecutive failed rebuilds. */
  get failedRebuilds(): number {
    return this.failures;
  }

  /** Whether Redis' run id must be read before the next claim (it may have restarted). */
  get runIdCheckDue(): boolean {
    return this.runIdUnchecked;
  }

  /**
   * A claim's answer said whether the index marker is there. Missing: Redis lost data
   * (or a rebuild that deleted it is under way). Present while awaiting another
   * worker's rebuild: it has ended. Returns true when this made a trusted index
   * suspect, for the caller to say so once.
   */
  markerSeen(present: boolean): boolean {
    const status = this.current;
    if (present) {
      if (status.state === 'awaiting-other-rebuild') this.move({ state: 'trusted' });
      return false;
    }
    const missing: Suspicion = { reason: 'index marker missing', lostData: true };
    if (status.state === 'trusted') {
      this.move({ state: 'suspect', suspicion: missing });
      return true;
    }
    if (status.state === 'refreshing') {
      this.move({ state: 'rebuilding-stale', suspicion: missing });
      return true;
    }
    // Already distrusted. While we rebuild, the marker is missing anyway: our rebuild
    // after a loss deleted it, and on a fresh Redis the start-up one has yet to set it.
    return false;
  }

  /** Redis may have lost writes (`reason` says why). */
  suspect(reason: string): void {
    const suspicion: Suspicion = { reason, lostData: true };
    const status = this.current;
    switch (status.state) {
      case 'trusted':
      case 'awaiting-other-rebuild':
      case 'suspect':
        return this.move({ state: 'suspect', suspicion });
      case 'refreshing':
      case 'rebuilding':
      case 'rebuilding-stale':
        return this.move({ state: 'rebuilding-stale', suspicion });
      case 'rebuild-backoff':
        return this.move({ ...status, suspicion });
    }
  }

  /** The Redis client (re)connected: it may be to a restarted Redis, so read its run id before the next claim. */
  redisReconnected(): void {
    this.runIdUnchecked = true;
  }

  /** Redis' run id, read after a (re)connection: a new one means it restarted. */
  runIdSeen(runId: string): void {
    this.runIdUnchecked = false;
    if (this.knownRunId !== undefined && runId !== this.knownRunId) this.suspect('Redis restarted (run id changed)');
    this.knownRunId = runId;
  }

  /**
   * Redis answers again after the worker claimed from Postgres without it: whatever it
   * holds now, it may have missed anything written meanwhile. The rebuild that follows
   * covers a restart too, so its run id is simply taken as known.
   */
  redisReturned(runId: string): void {
    this.knownRunId = runId;
    this.runIdUnchecked = false;
    this.suspect('Redis returned');
  }

  /**
   * Asked on every tick: the rebuild to start now, if any (a distrusted index as soon
   * as its backoff allows; a trusted one every reconcileIntervalMs), or null.
   */
  rebuildToStart(nowMs: number): Suspicion | null {
    const status = this.current;
    let suspicion: Suspicion;
    switch (status.state) {
      case 'suspect':
      case 'awaiting-other-rebuild':
        suspicion = status.suspicion;
        break;
      case 'rebuild-backoff':
        if (nowMs < status.retryAtMs) return null;
        suspicion = status.suspicion;
        break;
      case 'trusted':
        if (nowMs - this.lastRebuildStartMs < this.options.reconcileIntervalMs || nowMs < this.routineRetryAtMs) return null;
        this.lastRebuildStartMs = nowMs;
        this.move({ state: 'refreshing' });
        return { reason: PERIODIC, lostData: false };
      default:
        return null; // one of ours runs
    }
    this.lastRebuildStartMs = nowMs;
    this.move({ state: 'rebuilding', suspicion });
    return suspicion;
  }

  /** The rebuild started by rebuildToStart ended. Returns the backoff before the next, after a failure. */
  rebuildEnded(outcome: RebuildOutcome, nowMs: number): { retryInMs: number } | null {
    const status = this.current;
    let retryInMs: number | null = null;
    if (outcome === 'failed') {
      this.failures += 1;
      retryInMs = Math.round(backoffMs(this.failures, REBUILD_BACKOFF, this.options.random));
    } else {
      this.failures = 0;
    }
    switch (status.state) {
      case 'refreshing':
        if (retryInMs !== null) this.routineRetryAtMs = nowMs + retryInMs;
        this.move({ state: 'trusted' });
        break;
      case 'rebuilding':
        if (outcome === 'rebuilt') this.move({ state: 'trusted' });
        else if (outcome === 'lock-held-elsewhere') this.move({ state: 'awaiting-other-rebuild', suspicion: status.suspicion });
        else this.move({ state: 'rebuild-backoff', suspicion: status.suspicion, retryAtMs: nowMs + (retryInMs ?? 0) });
        break;
      case 'rebuilding-stale':
        if (retryInMs !== null) this.move({ state: 'rebuild-backoff', suspicion: status.suspicion, retryAtMs: nowMs + retryInMs });
        else this.move({ state: 'suspect', suspicion: status.suspicion });
        break;
      default:
        // No rebuild of ours was running: a caller's bug, said as the transition it would be.
        throw new IndexTrustTransitionError(status.state, status.state);
    }
    return retryInMs === null ? null : { retryInMs };
  }

  private move(next: IndexTrustStatus): void {
    const previous = this.current;
    assertTransition(previous.state, next.state);
    this.current = next;
    if (previous.state !== next.state) this.options.onChange?.(previous, next);
  }
}
