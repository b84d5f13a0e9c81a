/**
 * The audit_log table as written: one row per audited request (src/api/audit.ts says
 * which and when). Rows go in as one array per column, so one statement writes one
 * row or a batch: audit-log-insert.sql on its own, or folded into a command's single
 * statement (incident-open.sql) through the commit hook (./transaction.ts).
 */
import { type Queryable, run, sql } from './queries.ts';

export interface AuditEntry {
  occurredAt: Date;
  /** Null: no token (the CLI; a person acting from a notification, named by actor). */
  tokenId: string | null;
  actor: string;
  teamId: string | null;
  method: string;
  route: string | null;
  path: string;
  status: number;
  requestId: string;
  clientRequestId: string | null;
}

/** How many parameters auditColumns gives: audit-log-insert.sql's $1..$10. */
export const AUDIT_COLUMN_COUNT = 10;

/** The rows as the ten arrays of audit-log-insert.sql, in its order (empty arrays: no row). */
export function auditColumns(rows: readonly AuditEntry[]): unknown[] {
  const column = <K extends keyof AuditEntry>(key: K) => rows.map((row) => row[key]);
  return [
    column('occurredAt'),
    column('tokenId'),
    column('actor'),
    column('teamId'),
    column('method'),
    column('route'),
    column('path'),
    column('status'),
    column('requestId'),
    column('clientRequestId'),
  ];
}

/**
 * The rows as one JSON array, for a statement that takes them as one jsonb parameter
 * (jsonb_to_recordset), each with `owner`: what it belongs to in that statement.
 */
export function auditRecords(rows: readonly { entry: AuditEntry; owner: number }[]): string {
  return JSON.stringify(
    rows.map(({ entry, owner }) => ({
      owner,
      occurred_at: entry.occurredAt.toISOString(), // a string: JSON.stringify is slower on Dates
      token_id: entry.tokenId,
      actor: entry.actor,
      team_id: entry.teamId,
      method: entry.method,
      route: entry.route,
      path: entry.path,
      status: entry.status,
      request_id: entry.requestId,
      client_request_id: entry.clientRequestId,
    })),
  );
}

export async function insertAuditRows(db: Queryable, rows: readonly AuditEntry[]): Promise<void> {
  if (rows.length === 0) return;
  await run(db, sql('audit-log-insert'), auditColumns(rows));
}
