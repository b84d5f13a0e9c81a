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
  max?: number;
  /**
   * How long a query waits for a connection: for a free one in a busy pool (then it
   * fails as overloaded) or for a new one to be made (then as unreachable).
   */
  connectionTimeoutMs?: number;
  logger: Logger;
}

export function createPool({ databaseUrl, applicationName, role = '', max = 10, connectionTimeoutMs = 5_000, logger }: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: role ? withRole(databaseUrl, role) : databaseUrl,
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
 * One connection of its own, outside the pool, with the pool's settings: for a session
 * that must stay open and idle (LISTEN, ./listener.ts). Not connected yet.
 */
export function createClient({ databaseUrl, applicationName, role = '' }: Pick<PoolOptions, 'databaseUrl' | 'applicationName' | 'role'>): pg.Client {
  return new pg.Client({
    connectionString: role ? withRole(databaseUrl, role) : databaseUrl,
    application_name: applicationName,
    // A connection that vanished without a word (a host gone) is noticed, and remade.
    keepAlive: true,
    connectionTimeoutMillis: 5_000,
  });
}

/**
 * The connection string with `-c role=<role>` added to the session's startup options.
 *
 * Postgres applies it while it opens the session: a role that does not exist, or that
 * the login may not take, fails the connection (FATAL: permission denied to set role),
 * so nothing runs as the login by mistake; and it is the session's default role, which
 * RESET ROLE and DISCARD ALL come back to. A `SET ROLE` sent from the pool's 'connect'
 * event has neither property: pg does not wait for that listener, so a failed SET ROLE
 * would leave the client in the pool, acting as the login.
 *
 * The role goes into the URL rather than the pool's `options` because pg lets the
 * URL's parameters win over the config. Options already given (the URL's, or else
 * PGOPTIONS, which pg reads only when none are given) are kept, in front: a role
 * named there is overridden by this one.
 */
export function withRole(databaseUrl: string, role: string, env: NodeJS.ProcessEnv = process.env): string {
  // The options string is split on white space and backslashes escape: allow neither.
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(role)) throw new Error(`not a plain role name: "${role}"`);
  const url = new URL(databaseUrl);
  const given = url.searchParams.get('options') ?? env.PGOPTIONS ?? '';
  url.searchParams.set('options', `${given} -c role=${role}`.trim());
  return url.toString();
}
