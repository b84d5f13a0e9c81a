/** The figures on the outbox that GET /stats, `klaxon stats` and the /metrics gauges report (issue 11). */
import { type Queryable, run, sql } from './queries.ts';

export interface ChannelTally {
  sent: number;
  failed: number;
  /** Skipped (the incident moved on, throttled) or folded into a digest. */
  skipped: number;
}

export interface NotificationStats {
  /** PENDING rows, due or not (a voice call 5 minutes after the page is pending until then). */
  pending: number;
  /** PENDING and due now: what the notifiers have yet to send. */
  due: number;
  /** How long the oldest due one has been due (ms), null when none is. */
  oldestPendingAgeMs: number | null;
  byChannel: Record<string, ChannelTally>;
}

export async function readNotificationStats(db: Queryable, now: Date): Promise<NotificationStats> {
  const [row] = await run<{ pending: number; due: number; oldest_due: Date | null; by_channel: Record<string, ChannelTally> }>(db, sql('notifications-stats'), [
    now,
  ]);
  return {
    pending: row?.pending ?? 0,
    due: row?.due ?? 0,
    oldestPendingAgeMs: row?.oldest_due ? Math.max(0, now.getTime() - row.oldest_due.getTime()) : null,
    byChannel: row?.by_channel ?? {},
  };
}
