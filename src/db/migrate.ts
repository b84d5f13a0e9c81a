/**
 * Applies the SQL migrations in migrations/ (node-pg-migrate). Safe to run from
 * several processes at once: node-pg-migrate holds an advisory lock while it runs.
 * It connects as the login of the URL as it is, never as `database.role`: the login
 * owns the schema and grants the application's role what it may do.
 */
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Logger } from '../log/logger.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export async function migrate(databaseUrl: string, logger: Logger): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    migrationsTable: 'pgmigrations',
    direction: 'up',
    count: Infinity,
    checkOrder: true,
    verbose: false,
    log: (message: string) => logger.debug(message),
  });
  const names = applied.map((migration) => migration.name);
  logger.info(names.length ? 'migrations applied' : 'database schema is up to date', { applied: names });
  return names;
}
