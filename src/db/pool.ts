import pg from 'pg';
import type { Logger } from '../log/logger.ts';

export interface PoolOptions {
  databaseUrl: string;
  applicationName: string;
  /**
   * The role every connection acts as (config `database.role`, klaxon_app by
   * default, whose privileges migrations/1763900000600_application-role.sql grants);
   * empty or absent: the login role as it is (the migrations, tools that seed data).
   */
  role?: string;
  /**
   * Every transaction of every connection read-only unless it says READ WRITE
   * (`default_transaction_read_only`, a startup option: a connection the pool remakes
   * has it too). Postgres then refuses any write but to the session's temporary tables
   * (./shadow.ts).
   */
  readOnly?: boolean;
  max?: number;
  /**
   * How long a query waits for a connection: for a free one in a busy pool (then it
   * fails as overloaded) or for a new one to be made (then as unreachable).
   */
  connectionTimeoutMs?: number;
  logger: Logger;
}

export function createPool({ databaseUrl, applicationName, role = '', readOnly = false, max = 10, connectionTimeoutMs = 5_000, logger }: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: withStartupOptions(databaseUrl, { role, readOnly }),
    application_name: applicationName,
    max,
    // Fail a request quickly when Postgres is unreachable instead of queueing forever.
    connectionTimeoutMillis: connectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    // A runaway statement must not hold an incident row lock for minutes.
    statement_timeout: 30_000,
  });
  // An idle client that loses its connection (Postgres restarted) emits 'error' on
  // the pool; without a listener that would crash the process.
  pool.on('error', (error) => logger.warn('idle Postgres connection lost', { error }));
  return pool;
}

/**
 * The tables a request or an execution reads or writes. A new Postgres backend loads
 * each table's and index's catalog entries the first time a statement plans over it.
 */
const HOT_TABLES = [
  'incidents',
  'escalations',
  'incident_events',
  'audit_log',
  'api_tokens',
  'services',
  'escalation_policies',
  'escalation_policy_levels',
  'escalation_policy_targets',
  'escalation_failures',
  'integration_keys',
  'alert_log',
  'alert_storm_windows',
  'notifications',
] as const;

/**
 * Opens the pool's connections before the process takes work, and has each backend
 * plan a read of every hot table (LIMIT 0: nothing is read). A process that started
 * under load used to make its connections, and have Postgres load their catalogs,
 * while the first requests waited: the first two seconds of `npm run bench -- --api`
 * were its slowest. Best effort: a failure is logged, and the pool connects later.
 */
export async function warmPool(pool: pg.Pool, connections: number, logger: Logger): Promise<void> {
  const plan = HOT_TABLES.map((table) => `(SELECT 1 FROM ${table} LIMIT 0)`).join(' UNION ALL ');
  const outcomes = await onEachConnection(pool, connections, (client) => client.query(plan));
  const failure = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failure) logger.warn('warming the Postgres connections failed; they are made on first use', { error: failure.reason as unknown });
}

/**
 * Checks `connections` of the pool's connections out at once, so that the pool makes
 * that many, runs `work` on each, and hands each back whatever happened to the others;
 * one whose work failed is closed rather than reused. Never rejects: the outcomes of
 * the connections that could not be made, then of the work on each one that was.
 */
export async function onEachConnection<T>(pool: pg.Pool, connections: number, work: (client: pg.PoolClient) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  const made = await Promise.allSettled(Array.from({ length: connections }, () => pool.connect()));
  const clients = made.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const worked = await Promise.allSettled(clients.map((client) => work(client)));
  clients.forEach((client, i) => {
    const outcome = worked[i];
    client.release(outcome?.status === 'rejected' ? (outcome.reason as Error) : undefined);
  });
  const notMade = made.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  return [...notMade, ...worked];
}

/**
 * One connection of its own, outside the pool, with the pool's settings: for a session
 * that must stay open and idle (LISTEN, ./listener.ts). Not connected yet.
 */
export function createClient({ databaseUrl, applicationName, role = '' }: Pick<PoolOptions, 'databaseUrl' | 'applicationName' | 'role'>): pg.Client {
  return new pg.Client({
    connectionString: withStartupOptions(databaseUrl, { role }),
    application_name: applicationName,
    // A connection that vanished without a word (a host gone) is noticed, and remade.
    keepAlive: true,
    connectionTimeoutMillis: 5_000,
  });
}

/**
 * The connection string with `-c role=<role>` (and `-c default_transaction_read_only=on`
 * when readOnly) added to the session's startup options; as given when there is none.
 *
 * Postgres applies them while it opens the session: a role that does not exist, or that
 * the login may not take, fails the connection (FATAL: permission denied to set role),
 * so nothing runs as the login by mistake; and it is the session's default role, which
 * RESET ROLE and DISCARD ALL come back to. A `SET ROLE` sent from the pool's 'connect'
 * event has neither property: pg does not wait for that listener, so a failed SET ROLE
 * would leave the client in the pool, acting as the login.
 *
 * The options go into the URL rather than the pool's `options` because pg lets the
 * URL's parameters win over the config. Options already given (the URL's, or else
 * PGOPTIONS, which pg reads only when none are given) are kept, in front: a role
 * named there is overridden by this one.
 */
export function withStartupOptions(
  databaseUrl: string,
  { role = '', readOnly = false }: { role?: string; readOnly?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (!role && !readOnly) return databaseUrl;
  // The options string is split on white space and backslashes escape: allow neither.
  if (role && !/^[A-Za-z_][A-Za-z0-9_$]*$/.test(role)) throw new Error(`not a plain role name: "${role}"`);
  const url = new URL(databaseUrl);
  const given = url.searchParams.get('options') ?? env.PGOPTIONS ?? '';
  const added = [role ? `-c role=${role}` : '', readOnly ? '-c default_transaction_read_only=on' : ''].filter(Boolean).join(' ');
  url.searchParams.set('options', `${given} ${added}`.trim());
  return url.toString();
}
