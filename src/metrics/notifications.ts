/**
 * Notification delivery metrics (issue 11). The notifier counts what it does (sent,
 * failed, skipped, folded, retried, by channel) and observes the latency from a row's
 * due time (its level's commit, plus the rule's delay) to the provider accepting it;
 * each notifier process serves its own on its /metrics. The outbox gauges (pending,
 * oldest pending age) are read from Postgres on scrape, where a pool is given: the API,
 * one figure per database like the escalation gauges.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Clock } from '../clock/clock.ts';
import { type NotificationStats, readNotificationStats } from '../db/notification-stats.ts';
import type { Queryable } from '../db/queries.ts';
import { registerStatsGauges } from './stats-gauges.ts';

/** From the commit to the provider: milliseconds when all is well, minutes when a provider retries. */
const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export type NotificationOutcome = 'sent' | 'failed' | 'skipped' | 'folded' | 'retried';

export interface NotificationMetrics {
  recordOutcome(channel: string, outcome: NotificationOutcome): void;
  observeLatency(channel: string, seconds: number): void;
}

/** The notifier's counters and latency histogram, on `registry`. */
export function registerNotifierMetrics(registry: Registry): NotificationMetrics {
  const outcomes = new Counter({
    name: 'klaxon_notifications_total',
    help: 'Notifications by channel and what became of them: sent, failed (for good), skipped (incident moved on, throttled), folded (into a digest), retried (a transient failure).',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'klaxon_notification_latency_seconds',
    help: "From a notification being due (its level's commit plus the rule's delay) to the provider accepting it, by channel.",
    labelNames: ['channel'] as const,
    buckets: LATENCY_BUCKETS_S,
    registers: [registry],
  });
  return {
    recordOutcome(channel, outcome) {
      outcomes.inc({ channel, outcome });
    },
    observeLatency(channel, seconds) {
      latency.observe({ channel }, seconds);
    },
  };
}

/** The outbox gauges, read from Postgres on scrape (no sample when it does not answer). */
export function registerOutboxGauges(registry: Registry, source: { pool: Queryable; clock: Clock }): void {
  registerStatsGauges<NotificationStats>(registry, () => readNotificationStats(source.pool, source.clock.now()), [
    ['klaxon_notifications_pending', 'PENDING notifications (due or not yet due).', (stats) => stats.pending],
    ['klaxon_notifications_due', 'PENDING notifications already due (not sent yet).', (stats) => stats.due],
    [
      'klaxon_notifications_oldest_pending_age_seconds',
      'How long the oldest due, unsent notification has been due; 0 when none is.',
      (stats) => (stats.oldestPendingAgeMs ?? 0) / 1000,
    ],
  ]);
}
