import pg from 'pg';
import type { Logger } from '../log/logger.ts';

export interface PoolOptions {
  databaseUrl: string;
  applicationName: string;
  max?: number;
  logger: Logger;
}

export function createPool({ databaseUrl, applicationName, max = 10, logger }: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    application_name: applicationName,
    max,
    // Fail a request quickly when Postgres is unreachable instead of queueing forever.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // A runaway statement must not hold an incident row lock for minutes.
    statement_timeout: 30_000,
  });
  // An idle client that loses its connection (Postgres restarted) emits 'error' on
  // the pool; without a listener that would crash the process.
  pool.on('error', (error) => logger.warn('idle Postgres connection lost', { error }));
  return pool;
}
