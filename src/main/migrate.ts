/** `npm run migrate`: applies the pending migrations and exits. */
import { migrate } from '../db/migrate.ts';
import { bootstrap } from './bootstrap.ts';

const { config, logger } = bootstrap('migrate', { requireRedis: false });
try {
  await migrate(config.databaseUrl, logger);
} catch (error) {
  logger.error('migration failed', { error });
  process.exitCode = 1;
}
