/**
 * The alert log (issue 12): one line per event received with a valid integration key,
 * whatever became of it. The statements that act on an alert write its line themselves
 * (alert-triggers.sql, alert-fold.sql, incident-open.sql, alert-log-insert.sql), so
 * the line and the change commit together or not at all; this gives them the line's
 * columns in the one order they all take.
 */
import type { AlertAction, AlertOutcome, AlertSource } from '../domain/alerts/event.ts';

export interface AlertLogEntry {
  integrationKeyId: string;
  source: AlertSource;
  /** Null: the event was unreadable. */
  action: AlertAction | null;
  dedupKey: string | null;
  outcome: AlertOutcome;
  /** Why, in words, when the outcome needs one (ignored, invalid). */
  reason: string | null;
  /** As received. */
  payload: unknown;
  /** What it was read as, or the errors that made it invalid. */
  parsed: unknown;
  requestId: string | null;
}

/** The line as the nine columns the statements take after their own ($4-$12 of alert-log-insert.sql). */
export function alertLogColumns(entry: AlertLogEntry): unknown[] {
  return [
    entry.integrationKeyId,
    entry.source,
    entry.action,
    entry.dedupKey,
    entry.outcome,
    entry.reason,
    JSON.stringify(entry.payload ?? null),
    entry.parsed === undefined ? null : JSON.stringify(entry.parsed),
    entry.requestId,
  ];
}
