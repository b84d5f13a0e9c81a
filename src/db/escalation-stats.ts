/** The figures on PENDING escalations that GET /stats and the /metrics gauges report (src/presenters/stats.ts shows them). */
import { type Queryable, run, sql } from './queries.ts';

export interface EscalationStats {
  pending: number;
  /** Due (scheduled_at <= now) and not executed. */
  overdue: number;
  /** How long the oldest overdue one has been due (ms), null when none is. */
  oldestOverdueAgeMs: number | null;
  /** Kept out of batches after their execution failed too often (counted in pending and overdue too). */
  quarantined: number;
}

export async function readEscalationStats(db: Queryable, now: Date): Promise<EscalationStats> {
  const [row] = await run<{ pending: string; overdue: string; oldest_due: Date | null; quarantined: string }>(db, sql('escalations-stats'), [now]);
  return {
    pending: Number(row?.pending ?? 0),
    overdue: Number(row?.overdue ?? 0),
    oldestOverdueAgeMs: row?.oldest_due ? now.getTime() - row.oldest_due.getTime() : null,
    quarantined: Number(row?.quarantined ?? 0),
  };
}
