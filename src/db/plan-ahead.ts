/**
 * Plans named statements on every connection of a pool before the process takes work,
 * in transactions that cannot write.
 *
 * Why: a Postgres backend plans a named statement on its first runs (a custom plan for
 * each of the first five, then it weighs a generic one), and loads the catalog entries
 * of the tables and indexes the plan touches as it goes. An API started under load had
 * each of its connections do that while the first requests waited: the alerts'
 * statement took up to 13.5 ms to plan on a fresh connection, and was planned 47 times
 * in the first second of `npm run -s bench -- --intake 500`.
 *
 * How: each run is `BEGIN READ ONLY`, the statement with the values of a run seen
 * elsewhere (the API's warm-up records them on its copies of the tables:
 * src/api/warm-up.ts), `ROLLBACK`. Postgres plans a statement when it is bound, and
 * refuses a write when its execution starts, after the plan: a statement that writes is
 * planned and refused (SQLSTATE 25006), never run. One that only reads is planned and
 * runs, under a short statement timeout, on the real tables, and finds nothing there
 * of the warm-up's ids. The statement stays prepared on the connection, as pg expects
 * (a Parse is not undone by the ROLLBACK of its transaction). Nothing is committed,
 * and no NOTIFY is sent (that happens at COMMIT only).
 */
import type pg from 'pg';
import { onEachConnection } from './pool.ts';

/** A named statement (src/db/queries.ts) and the values of one run of it. */
export interface NamedStatementRun {
  name: string;
  text: string;
  values: unknown[];
}

/** Runs per statement: its first five custom plans, then the run that weighs and keeps the generic one. */
export const RUNS_PER_STATEMENT = 6;
/** A statement that only reads runs for real: for this long at most (its plan is made by then). */
const READ_TIMEOUT_MS = 200;

/**
 * Plans every statement on `connections` of the pool's connections, all at once; resolves
 * to the runs made. A connection that fails is closed, not reused; it never rejects.
 */
export async function planAhead(pool: pg.Pool, statements: readonly NamedStatementRun[], connections: number, signal?: AbortSignal): Promise<number> {
  // Counted as they are made: a connection that fails has made some.
  let runs = 0;
  await onEachConnection(pool, connections, async (client) => {
    for (const statement of statements) {
      for (let i = 0; i < RUNS_PER_STATEMENT && !signal?.aborted; i += 1) {
        await client.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${READ_TIMEOUT_MS}`);
        // Refused if it writes, as intended: its plan is made by then.
        await client.query({ name: statement.name, text: statement.text, values: statement.values }).catch(() => undefined);
        await client.query('ROLLBACK');
        runs += 1;
      }
    }
  });
  return runs;
}
