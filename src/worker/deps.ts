/** What a worker is made of, and what a tick reports: shared by the worker, its modes and its loop. */
import type pg from 'pg';
import type { Clock } from '../clock/clock.ts';
import type { Config } from '../config/config.ts';
import type { Timetable } from '../domain/timetable.ts';
import type { ExecutionResult } from '../engine/executor.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { RedisClient } from '../redis/client.ts';
import type { RedisKeys } from '../redis/keys.ts';

/** The worker's settings (documented where they are loaded: src/config/config.ts). */
export type WorkerOptions = Config['worker'];

export interface WorkerHooks {
  /** Right after a claim from Redis (the tests' crash-after-claim fault). */
  afterClaim?: (ids: string[]) => void;
  /**
   * Inside a batch's transaction, its rows executed, just before COMMIT: the tests'
   * stall-before-commit fault holds the transaction (and its locks) open here.
   */
  beforeCommit?: (ids: string[]) => Promise<void> | void;
  /** After every tick, with its summary. */
  afterTick?: (summary: TickSummary) => void;
}

export interface WorkerDeps {
  pool: pg.Pool;
  redis: RedisClient;
  keys: RedisKeys;
  clock: Clock;
  timetable: Timetable;
  logger: Logger;
  options: WorkerOptions;
  /** Where executions, failures and index rebuilds are counted (none: not counted). */
  metrics?: Metrics;
  /** Fault injection and observation, for tests. */
  hooks?: WorkerHooks;
}

export type WorkerMode = 'redis' | 'degraded';

export interface TickSummary {
  mode: WorkerMode;
  claimed: number;
  executed: number;
  cancelled: number;
  skipped: number;
  requeued: number;
  exhausted: number;
  /** Rows whose incident another session held: handed back for shortly after, not waited for. */
  handedBack: number;
  /** Attempts at single rows that failed (each counted in Postgres: src/engine/quarantine.ts). */
  failed: number;
  /** Rows quarantined by this tick. */
  quarantined: number;
  /** When the next escalation or lease falls due (ms), if known. */
  nextWakeMs: number | null;
}

export function emptySummary(mode: WorkerMode): TickSummary {
  return { mode, claimed: 0, executed: 0, cancelled: 0, skipped: 0, requeued: 0, exhausted: 0, handedBack: 0, failed: 0, quarantined: 0, nextWakeMs: null };
}

export function addToSummary(summary: TickSummary, result: ExecutionResult): void {
  summary.executed += result.executed.length;
  summary.cancelled += result.cancelled.length;
  summary.skipped += result.skipped.length + result.quarantined.length;
  summary.requeued += result.requeued.length;
  summary.exhausted += result.exhausted.length;
  summary.handedBack += result.busy.length;
}
