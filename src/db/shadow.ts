/**
 * A shadow session: one Postgres connection that holds a temporary, empty copy of
 * every table it may read, and whose transactions are read-only unless they say
 * otherwise. The application's own statements run on it unchanged, and reach only
 * the copies:
 *
 * - An unqualified table name resolves to the session's temporary schema before any
 *   other (Postgres searches pg_temp first when the search path does not name it), and
 *   every statement of ./queries names its tables unqualified.
 * - Every transaction is read-only (`default_transaction_read_only`, a startup option,
 *   so a connection the pool remakes has it too), and Postgres lets a read-only
 *   transaction write temporary tables only: a write that would reach a real table,
 *   through a table left uncopied, a schema-qualified name or a remade connection, is
 *   refused (SQLSTATE 25006), never done. So is nextval() on a real sequence; identity
 *   columns get sequences of their own with the copies.
 * - The copies go with the session when it closes.
 *
 * The copies have the real tables' columns, defaults, CHECK constraints and indexes
 * (the unique ones that ON CONFLICT needs), but neither their foreign keys nor their
 * triggers: what runs on them must not rely on those to answer. NOTIFY still reaches
 * the real listeners (a notifier woken by one finds nothing to do).
 *
 * The API's warm-up (src/api/warm-up.ts) runs real requests on one, the worker's
 * (src/worker/warm-up.ts) synthetic escalations.
 */
import type pg from 'pg';
import type { Logger } from '../log/logger.ts';
import { createPool } from './pool.ts';
import type { NamedStatementRun } from './plan-ahead.ts';

export interface ShadowPool {
  /** At most one connection: temporary tables belong to one session. */
  readonly pool: pg.Pool;
  /** The tables copied. */
  readonly tables: readonly string[];
  /** Whether the pool had to make another connection (which has no copies: its writes fail, its reads see real rows). */
  readonly remade: boolean;
  /** Every named statement (src/db/queries.ts) run on it so far, each with the values of its first run. */
  statements(): NamedStatementRun[];
  close(): Promise<void>;
}

export interface ShadowOptions {
  databaseUrl: string;
  /** As the real pool's (config `database.role`): the copies have the privileges its statements need. */
  role: string;
  applicationName: string;
  logger: Logger;
}

/** Every table of the search path's schemas the role may read (LIKE needs SELECT). */
const COPYABLE_TABLES = `
  SELECT n.nspname AS schema, c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY (current_schemas(false)) AND has_table_privilege(c.oid, 'SELECT')
   ORDER BY 1, 2`;

export async function openShadowPool(options: ShadowOptions): Promise<ShadowPool> {
  const pool = createPool({ ...options, readOnly: true, max: 1 });
  let connections = 0;
  const runs = new Map<string, NamedStatementRun>();
  pool.on('connect', (client) => {
    connections += 1;
    recordNamedStatements(client, runs);
  });
  try {
    const client = await pool.connect();
    try {
      // The one transaction that may write: it creates the copies.
      await client.query('BEGIN READ WRITE');
      const { rows } = await client.query<{ schema: string; name: string }>(COPYABLE_TABLES);
      for (const { schema, name } of rows) {
        const table = client.escapeIdentifier(name);
        await client.query(`CREATE TEMPORARY TABLE ${table} (LIKE ${client.escapeIdentifier(schema)}.${table} INCLUDING ALL)`);
      }
      await client.query('COMMIT');
      client.release();
      return {
        pool,
        tables: rows.map((row) => row.name),
        get remade() {
          return connections > 1;
        },
        statements: () => [...runs.values()],
        close: () => pool.end(),
      };
    } catch (error) {
      // Closed rather than reused: it may be inside the transaction still.
      client.release(error as Error);
      throw error;
    }
  } catch (error) {
    await pool.end();
    throw error;
  }
}

/** Keeps the first run of each named statement the client is given (pg's query config: { name, text, values }). */
function recordNamedStatements(client: pg.PoolClient, runs: Map<string, NamedStatementRun>): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const recording = (...args: unknown[]): unknown => {
    const [config] = args;
    if (typeof config === 'object' && config !== null && 'name' in config && 'text' in config) {
      const { name, text, values } = config as { name: unknown; text: unknown; values?: unknown };
      if (typeof name === 'string' && typeof text === 'string' && !runs.has(name)) runs.set(name, { name, text, values: Array.isArray(values) ? values : [] });
    }
    return query(...args);
  };
  client.query = recording as typeof client.query;
}
