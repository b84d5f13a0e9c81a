/**
 * The worker's transactions, bounded so that a stalled worker holds nobody back
 * (DESIGN.md, invariant 7; issue 10, item 4). Measured before: a worker SIGSTOPped
 * past its 5 s lease kept its transaction open with the row locks of its batch; the
 * worker that took its expired claims over waited on those locks (8 s late, "slow
 * batch took_ms 3014"), and everything else in its batch waited with them.
 *
 * Each transaction gets, with SET LOCAL (the pooled session is left as it was, and
 * the API's sessions are never touched: a command that executes a level keeps the
 * defaults):
 *
 * - `idle_in_transaction_session_timeout` = lease / 2. A worker that stops between
 *   two statements of a batch (SIGSTOP, a long GC pause, a frozen VM) leaves its
 *   session idle in the transaction; Postgres ends the session after this long, which
 *   rolls the transaction back and releases its locks, well before the lease lets
 *   another worker take the claims over. The late worker's COMMIT then fails: it
 *   changes nothing. A healthy worker is idle inside a transaction for milliseconds.
 * - `lock_timeout` = lease / 4, a backstop. The worker locks incidents with SKIP
 *   LOCKED (src/engine/executor.ts) and hands back the rows it could not lock, so it
 *   never queues behind a session that holds one; any other lock wait is unexpected,
 *   and fails the batch, which is retried, rather than stall the worker.
 *
 * - `plan_cache_mode` = force_generic_plan. The batch statements take arrays of ids
 *   (unnest($1::uuid[])); for its first five runs on a connection Postgres plans such
 *   a statement with the array in hand (a custom plan), and with 500 ids and tables
 *   without fresh statistics (a storm of new incidents, a fresh database) it chose
 *   to hash the whole table: the lock, the mark EXECUTED and the incident update
 *   each scanned all 100,000 rows, 46-72 ms a statement, where 500 probes of the
 *   primary key take 3-4 ms (EXPLAIN ANALYZE; issue 10, item 9). Every new
 *   connection paid it five times, which made the first second of a run the latest
 *   (npm run bench -- --rate 3000: 650 ms at the median, 100-115 ms with this). The
 *   generic plan, which Postgres itself settles on after those five runs, probes the
 *   primary keys whatever the number of ids, as long as it was made with the tables'
 *   sizes of now: one made while they were nearly empty reads them whole, so plans
 *   are made again when a table has grown (src/db/plan-freshness.ts).
 *
 * BEGIN and these settings go in one round trip (a simple query of several
 * statements, which takes no parameters: the values are whole numbers made here).
 *
 * A session ended while its client was not waiting on a query makes the pg client
 * emit 'error' (an unhandled one would crash the process): it is caught here and
 * becomes the batch's error.
 */
import type pg from 'pg';
import { isDatabaseUnavailable } from '../db/unavailable.ts';

export interface TransactionBounds {
  /** Postgres ends a session idle inside a transaction for longer than this. */
  idleInTransactionMs: number;
  /** The longest a statement waits for a lock. */
  lockTimeoutMs: number;
}

/** The bounds that follow from the lease (see the module comment). */
export function boundsForLease(leaseMs: number): TransactionBounds {
  return {
    idleInTransactionMs: Math.max(1, Math.floor(leaseMs / 2)),
    lockTimeoutMs: Math.max(1, Math.floor(leaseMs / 4)),
  };
}

/** BEGIN and the settings of a transaction within `bounds` (see the module comment), as one simple query. */
export function beginWithin(bounds: TransactionBounds): string {
  const ms = (value: number) => {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`a transaction bound must be a whole number of ms, not ${value}`);
    return `'${value}ms'`;
  };
  return (
    `BEGIN; SET LOCAL lock_timeout = ${ms(bounds.lockTimeoutMs)}; ` +
    `SET LOCAL idle_in_transaction_session_timeout = ${ms(bounds.idleInTransactionMs)}; ` +
    'SET LOCAL plan_cache_mode = force_generic_plan'
  );
}

/** SQLSTATEs a transient conflict is reported with: the transaction is simply run again. */
const RETRYABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);
const MAX_ATTEMPTS = 3;

/** Postgres ended the session because it stayed idle inside a transaction: this worker stalled. */
export const STALLED_SQLSTATE = '25P03'; // idle_in_transaction_session_timeout

/** Runs `work` in one transaction within `bounds`; a transient conflict is retried, anything else thrown. */
export async function inBoundedTransaction<T>(pool: pg.Pool, bounds: TransactionBounds, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await once(pool, bounds, work);
    } catch (error) {
      if (attempt < MAX_ATTEMPTS && RETRYABLE_SQLSTATES.has(sqlState(error) ?? '')) continue;
      throw error;
    }
  }
}

async function once<T>(pool: pg.Pool, bounds: TransactionBounds, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, bounds, work, 'COMMIT');
}

/**
 * Runs `work` in a transaction within `bounds` that is rolled back whatever `work` does
 * or throws: nothing it writes is ever seen by another session (the warm-up's rounds
 * on its copies, ./warm-up.ts: each finds them empty). Returns what `work` returns.
 */
export function inRolledBackTransaction<T>(pool: pg.Pool, bounds: TransactionBounds, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, bounds, work, 'ROLLBACK');
}

/** One transaction on a connection of its own, ended by `ending` when `work` succeeds, rolled back when it throws. */
async function inTransaction<T>(
  pool: pg.Pool,
  bounds: TransactionBounds,
  work: (client: pg.PoolClient) => Promise<T>,
  ending: 'COMMIT' | 'ROLLBACK',
): Promise<T> {
  const client = await pool.connect();
  let ended: Error | undefined;
  const onError = (error: Error) => {
    ended ??= error;
  };
  client.on('error', onError);
  let broken = false;
  try {
    await client.query(beginWithin(bounds));
    const result = await work(client);
    await client.query(ending);
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true; // the connection is gone: do not reuse it
    }
    // Why the session ended says more than "Client has encountered a connection error".
    throw ended ?? error;
  } finally {
    client.off('error', onError);
    client.release(broken || ended !== undefined);
  }
}

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * SQLSTATE classes that may be one row's doing: its data breaks a type, a constraint,
 * a trigger's rule (RAISE), or a statement meets it twice. Any other SQLSTATE is the
 * database, the connection, a bound of ours, a conflict with another session, or the
 * schema and privileges not being what the code expects (a release ahead of its
 * migration): nothing a row did, and nothing to count against one.
 */
const ROW_CAUSED_CLASSES = new Set([
  '21', // cardinality_violation
  '22', // data_exception
  '23', // integrity_constraint_violation
  '27', // triggered_data_change_violation
  '44', // with_check_option_violation
  'P0', // plpgsql_error (RAISE)
]);

/**
 * Whether an error may be the doing of the rows being executed (then their batch is
 * retried apart, and a row failing alone is counted), rather than of the database,
 * the connection or the schema (then the batch is handed back whole, and counts
 * against no row). An error without a SQLSTATE is the code meeting a row's data (a
 * corrupt policy snapshot), unless it is the pg client saying its connection broke.
 */
export function failedForItsRows(error: unknown): boolean {
  if (isDatabaseUnavailable(error)) return false;
  if (error instanceof Error && /not queryable|Connection terminated|connection error/i.test(error.message)) return false;
  const code = sqlState(error);
  if (code === undefined) return true;
  return ROW_CAUSED_CLASSES.has(code.slice(0, 2));
}
