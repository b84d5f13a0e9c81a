/**
 * One transaction, retried when Postgres reports a transient conflict. Only the
 * SQLSTATEs listed here are retried: everything else is a real error.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

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
      await client.query('COMMIT');
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
