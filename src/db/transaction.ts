/**
 * One transaction, retried when Postgres reports a transient conflict. Only the
 * SQLSTATEs listed here are retried: everything else is a real error.
 *
 * A commit hook (withCommitHook) adds a statement to the first transaction that
 * commits in its async context: the API writes a request's audit row so, inside the
 * very transaction of the change it records, without each command having to know.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

export interface CommitHook {
  /** Runs inside the transaction, just before COMMIT (again if the transaction is retried). */
  beforeCommit(client: pg.PoolClient): Promise<void>;
  /** Set once a transaction that ran beforeCommit has committed: later transactions skip it. */
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

const RETRYABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);
const MAX_ATTEMPTS = 3;

export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      const hook = commitHooks.getStore();
      const hooked = hook !== undefined && !hook.committed;
      if (hooked) await hook.beforeCommit(client);
      await client.query('COMMIT');
      if (hooked) hook.committed = true;
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError as Error; // the connection is gone: do not reuse it
      }
      if (attempt < MAX_ATTEMPTS && isRetryable(error)) {
        await sleep(10 * 2 ** attempt * (0.5 + Math.random()));
        continue;
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
}
