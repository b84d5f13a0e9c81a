/**
 * Escalations whose own execution fails (issue 10, item 5), counted in Postgres so
 * that every worker shares the count: each failed attempt is recorded with its error
 * and a retry time (backoff), and after MAX_EXECUTION_ATTEMPTS the row is
 * quarantined: it stays PENDING, but no batch, no Redis index and no degraded-mode
 * claim takes it any more, so it cannot fail the rows beside it again. A transition
 * (acknowledge, resolve, cancel, a manual escalate) still settles it like any
 * PENDING row; an operator releases it once its cause is fixed (`klaxon escalation
 * release`), and it runs at once with a fresh count.
 *
 * Who counts (retrying a failed batch's rows apart) is the worker's business:
 * src/worker/batches.ts.
 */
import type { Backoff } from '../clock/deadline.ts';
import { type Queryable, run, sql } from '../db/queries.ts';
import type { PendingIndex } from './index/pending.ts';

/**
 * Failed attempts of a row on its own before it is quarantined. With the backoff
 * below, the fifth comes about 15 s after the first: long enough for a transient
 * fault that was not recognised as one to pass, short enough that a poison row
 * stops costing its neighbours within seconds.
 */
export const MAX_EXECUTION_ATTEMPTS = 5;

/** Between failed attempts of one row (no jitter: the retry time is stored, not slept). */
export const ATTEMPT_BACKOFF: Backoff = { baseMs: 1_000, capMs: 60_000 };

/** What Postgres keeps of an error (the column's bound). */
const ERROR_TEXT_MAX = 2_000;

export interface RecordedFailure {
  escalationId: string;
  incidentId: string;
  attempts: number;
  /** The error as recorded (its SQLSTATE, if any, and its message). */
  lastError: string;
  /** When it may be tried again (meaningless once quarantined). */
  retryAt: Date;
  quarantined: boolean;
  /** This attempt is the one that quarantined it: say so, once. */
  newlyQuarantined: boolean;
}

/** Counts one failed attempt at executing `escalationId` on its own. */
export async function recordExecutionFailure(db: Queryable, escalationId: string, error: unknown, now: Date): Promise<RecordedFailure | null> {
  const [row] = await run<{
    escalation_id: string;
    incident_id: string;
    attempts: number;
    last_error: string;
    retry_at: Date;
    quarantined_at: Date | null;
    newly_quarantined: boolean;
  }>(db, sql('escalation-failure-record'), [escalationId, describeError(error), now, MAX_EXECUTION_ATTEMPTS, ATTEMPT_BACKOFF.baseMs, ATTEMPT_BACKOFF.capMs]);
  if (!row) return null; // the escalation does not exist
  return {
    escalationId: row.escalation_id,
    incidentId: row.incident_id,
    attempts: row.attempts,
    lastError: row.last_error,
    retryAt: row.retry_at,
    quarantined: row.quarantined_at !== null,
    newlyQuarantined: row.newly_quarantined,
  };
}

export interface QuarantinedEscalation {
  escalationId: string;
  incidentId: string;
  level: number;
  scheduledAt: Date;
  attempts: number;
  lastError: string;
  quarantinedAt: Date;
}

/** The quarantined escalations still PENDING, longest quarantined first. */
export async function listQuarantined(db: Queryable, limit: number): Promise<QuarantinedEscalation[]> {
  const rows = await run<{
    escalation_id: string;
    incident_id: string;
    escalation_level: number;
    scheduled_at: Date;
    attempts: number;
    last_error: string;
    quarantined_at: Date;
  }>(db, sql('escalations-quarantined'), [limit]);
  return rows.map((row) => ({
    escalationId: row.escalation_id,
    incidentId: row.incident_id,
    level: row.escalation_level,
    scheduledAt: row.scheduled_at,
    attempts: row.attempts,
    lastError: row.last_error,
    quarantinedAt: row.quarantined_at,
  }));
}

/**
 * Releases quarantined escalations (`ids`, or all of them): their count starts again,
 * and they go back into the Redis index due now (they are late already; one not yet
 * due at its due time), which wakes
 * the workers. Without Redis the workers' next rebuild, or degraded mode, finds them.
 * Returns the ids released (not those that were not quarantined, or no longer PENDING).
 */
export async function releaseQuarantined(db: Queryable, index: PendingIndex, ids: string[] | 'all', now: Date): Promise<string[]> {
  const released = await run<{ escalation_id: string; scheduled_at: Date }>(db, sql('escalations-release'), [ids === 'all' ? null : ids, now]);
  const add = released.map((row) => ({ id: row.escalation_id, dueAt: row.scheduled_at > now ? row.scheduled_at : now }));
  await index.applyAfterCommit({ add, remove: [] });
  return released.map((row) => row.escalation_id);
}

/** The error as the failure record keeps it: its SQLSTATE, if any, and its message. */
export function describeError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const text = typeof code === 'string' ? `${code} ${message}` : message;
  return text.length > ERROR_TEXT_MAX ? `${text.slice(0, ERROR_TEXT_MAX - 1)}…` : text;
}
