/**
 * Prometheus metrics. prom-client is the de-facto Node client: it gives us the
 * exposition format, histograms and the process metrics without writing any of
 * that by hand.
 *
 * Every Metrics object owns its own Registry, never prom-client's global one, so
 * several apps or workers in one process (the tests) do not collide.
 *
 * The escalation gauges are read from Postgres on scrape, and only where a pool is
 * given (the API): one figure per database, not one per worker. When Postgres does
 * not answer, the scrape still succeeds, without their samples.
 *
 * Notification delivery metrics: src/metrics/notifications.ts (the notifier's counters
 * and latency; the outbox gauges, registered here next to the escalation ones).
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../clock/clock.ts';
import { type EscalationStats, readEscalationStats } from '../db/escalation-stats.ts';
import type { Queryable } from '../db/queries.ts';
import { registerOutboxGauges } from './notifications.ts';
import { registerStatsGauges } from './stats-gauges.ts';

/** Lateness is milliseconds when all is well and seconds when a disk stalls: 1 ms to 60 s. */
const LATENESS_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const HTTP_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A scrape must not wait on a hung Postgres for the pool's connection timeout. */

export interface MetricsOptions {
  /** Where the escalation gauges are read from; without it they are not registered. */
  escalationStats?: { pool: Queryable; clock: Clock };
  /**
   * The process' own metrics (CPU, memory, event-loop lag, GC), which start monitors
   * that live as long as the process; default true. False for a registry nobody scrapes
   * (the API's warm-up app).
   */
  processMetrics?: boolean;
}

/** What a committed batch of escalations did, as far as the counters care (the engine's ExecutionResult is one). */
export interface ExecutionTally {
  executed: readonly { scheduledAt: Date; executedAt: Date }[];
  cancelled: readonly unknown[];
  exhausted: readonly unknown[];
}

export interface Metrics {
  readonly registry: Registry;
  /** `route` is the endpoint's path template (/incidents/:id), or undefined when none matched. */
  observeHttpRequest(request: { method: string; route: string | undefined; status: number; seconds: number }): void;
  /** What a committed batch did; `committedAt`: when the worker saw its COMMIT return (durable). */
  recordExecution(result: ExecutionTally, committedAt: Date): void;
  recordReconcilerRun(reason: string): void;
  /** An attempt at executing one escalation on its own failed (src/worker/batches.ts). */
  recordExecutionFailure(): void;
  /** An escalation was quarantined: its execution failed too often. */
  recordQuarantined(): void;
  /** Audit rows of refused requests that could not be written (src/api/audit.ts). */
  recordAuditRowsLost(count: number): void;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const lateness = new Histogram({
    name: 'klaxon_escalation_lateness_seconds',
    help: 'Time from an escalation being due to its execution (executed_at - scheduled_at).',
    buckets: LATENESS_BUCKETS_S,
    registers: [registry],
  });
  // What the paged person gets: executed_at is stamped before the batch's writes and its
  // COMMIT, which a slow WAL flush can hold back for hundreds of ms (README, Benchmark).
  const latenessAtCommit = new Histogram({
    name: 'klaxon_escalation_lateness_at_commit_seconds',
    help: 'Time from an escalation being due to the worker seeing its batch committed (durable).',
    buckets: LATENESS_BUCKETS_S,
    registers: [registry],
  });
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  const executed = counter('klaxon_escalations_executed_total', 'Escalations executed (a level paged).');
  const cancelled = counter('klaxon_escalations_cancelled_total', 'Due escalations cancelled at execution because their incident no longer escalates.');
  const exhausted = counter('klaxon_escalations_exhausted_total', 'Incidents whose escalation timetable ran out.');
  const reconcilerRuns = new Counter({
    name: 'klaxon_reconciler_runs_total',
    help: 'Completed rebuilds of the Redis index from Postgres, by why they ran.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const executionFailures = counter(
    'klaxon_escalation_execution_failures_total',
    'Failed attempts at executing one escalation on its own, after its batch failed because of its rows.',
  );
  const quarantined = counter(
    'klaxon_escalations_quarantined_total',
    'Escalations quarantined: their execution failed too often, they are kept out of batches.',
  );
  const httpDuration = new Histogram({
    name: 'klaxon_http_request_duration_seconds',
    help: 'HTTP request duration, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS_S,
    registers: [registry],
  });
  const auditRowsLost = counter(
    'klaxon_audit_rows_lost_total',
    'Audit rows of refused requests given up: the database stayed unreachable past the retries, or the queue was full.',
  );
  if (options.escalationStats) registerEscalationGauges(registry, options.escalationStats);
  // The outbox's gauges, from the same database, once (src/metrics/notifications.ts).
  if (options.escalationStats) registerOutboxGauges(registry, options.escalationStats);

  return {
    registry,
    observeHttpRequest({ method, route, status, seconds }) {
      httpDuration.observe({ method, route: route ?? 'unmatched', status: String(status) }, seconds);
    },
    recordExecution(result, committedAt) {
      for (const row of result.executed) {
        lateness.observe((row.executedAt.getTime() - row.scheduledAt.getTime()) / 1000);
        latenessAtCommit.observe((committedAt.getTime() - row.scheduledAt.getTime()) / 1000);
      }
      executed.inc(result.executed.length);
      cancelled.inc(result.cancelled.length);
      exhausted.inc(result.exhausted.length);
    },
    recordReconcilerRun(reason) {
      reconcilerRuns.inc({ reason });
    },
    recordExecutionFailure() {
      executionFailures.inc();
    },
    recordQuarantined() {
      quarantined.inc();
    },
    recordAuditRowsLost(count) {
      auditRowsLost.inc(count);
    },
  };
}

function registerEscalationGauges(registry: Registry, source: { pool: Queryable; clock: Clock }): void {
  registerStatsGauges<EscalationStats>(registry, () => readEscalationStats(source.pool, source.clock.now()), [
    ['klaxon_escalations_pending', 'PENDING escalations.', (stats) => stats.pending],
    ['klaxon_escalations_overdue', 'PENDING escalations already due (not executed yet).', (stats) => stats.overdue],
    [
      'klaxon_escalations_oldest_overdue_age_seconds',
      'How long the oldest overdue escalation has been due; 0 when none is.',
      (stats) => (stats.oldestOverdueAgeMs ?? 0) / 1000,
    ],
    [
      'klaxon_escalations_quarantined',
      'PENDING escalations kept out of batches because their execution failed too often (until released or settled).',
      (stats) => stats.quarantined,
    ],
  ]);
}
