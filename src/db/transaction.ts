/**
 * One transaction, retried when Postgres reports a transient conflict. Only the
 * SQLSTATEs listed here are retried: everything else is a real error.
 *
 * A commit hook (withCommitHook) holds audit rows that must commit with the first
 * transaction that commits in its async context: the API writes a request's audit row
 * so, inside the very transaction of the change it records, without each command
 * having to know. inTransaction writes them just before COMMIT; a command that
 * commits in one statement (commitStatement) writes them in that statement.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { type AuditEntry, auditColumns, insertAuditRows } from './audit-log.ts';
import { type NamedQuery, run } from './queries.ts';

export interface CommitHook {
  /** The audit rows to commit with the change (asked again if the transaction is retried). */
  rows(): AuditEntry[];
  /** Set once a transaction that wrote the rows has committed: later transactions skip them. */
  committed: boolean;
}

const commitHooks = new AsyncLocalStorage<CommitHook>();

/** Runs `work` with `hook` attached to the first transaction it commits. */
export function withCommitHook<T>(hook: CommitHook, work: () => Promise<T>): Promise<T> {
  return commitHooks.run(hook, work);
}

/**
 * Runs `work` detached from any commit hook: for work a request starts that outlives
 * it or is not its change (writing queued audit rows), so a hook cannot land in it.
 */
export function withoutCommitHook<T>(work: () => T): T {
  return commitHooks.exit(work);
}

/** The hook whose rows the next commit must write, if any. */
export function pendingHook(): CommitHook | undefined {
  const hook = commitHooks.getStore();
  return hook !== undefined && !hook.committed ? hook : undefined;
}

const RETRYABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);
const MAX_ATTEMPTS = 3;

export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withRetries(async () => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      const hook = pendingHook();
      if (hook) await insertAuditRows(client, hook.rows());
      await client.query('COMMIT');
      if (hook) hook.committed = true;
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError as Error; // the connection is gone: do not reuse it
      }
      throw error;
    } finally {
      client.release(broken);
    }
  });
}

/**
 * Runs one statement that is a whole change by itself, without BEGIN and COMMIT:
 * Postgres runs a lone statement in a transaction of its own and commits it (durably)
 * before it answers, so the change costs one round trip instead of one per statement
 * plus two (issue 10: a POST /incidents with escalate made eleven). The pending commit
 * hook's audit rows ride along: they are the statement's last ten parameters, the
 * columns of audit-log-insert.sql (empty arrays when there is no hook), and the
 * statement must insert them (its header says so). Retried like a transaction.
 */
export async function commitStatement<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  query: NamedQuery,
  values: unknown[],
  /**
   * For a statement that may change nothing and then writes no audit row either (its
   * header says on which condition): whether these rows mean it wrote them. Default:
   * it always does.
   */
  wroteAudit: (rows: R[]) => boolean = () => true,
): Promise<R[]> {
  return withRetries(async () => {
    const hook = pendingHook();
    const rows = await run<R>(pool, query, [...values, ...auditColumns(hook ? hook.rows() : [])]);
    if (hook && wroteAudit(rows)) hook.committed = true;
    return rows;
  });
}

/** Runs `attempt`, again (after a short jittered wait) when Postgres reports a transient conflict, up to MAX_ATTEMPTS. */
export async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
  for (let count = 1; ; count += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (count < MAX_ATTEMPTS && isRetryable(error)) {
        await sleep(10 * 2 ** count * (0.5 + Math.random()));
        continue;
      }
      throw error;
    }
  }
}

function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
}
