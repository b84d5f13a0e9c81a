/**
 * `klaxon migrate`: applies the pending migrations, as `npm run migrate` does (the same
 * function, src/db/migrate.ts), as the login of DATABASE_URL: the owner of the schema,
 * not the application role (which the migrations may have yet to create).
 */
import { type Command, CommandFailed, flag } from './args.ts';
import { json, line } from './output.ts';
import { loadCliConfig } from './session.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply the pending database migrations',
  needs: 'nothing',
  options: { json: { type: 'boolean', description: 'print {"applied": [names]} as JSON' } },
  details:
    'Runs as the login of DATABASE_URL as it is (DATABASE_ROLE does not apply). Safe to run while\n' +
    'other processes run it too: node-pg-migrate holds an advisory lock.',
  examples: ['klaxon migrate'],
  async run(args, session) {
    const { config, logger } = await loadCliConfig();
    // Loaded here: node-pg-migrate is needed by no other command.
    const { migrate } = await import('../db/migrate.ts');
    let applied: string[];
    try {
      applied = await migrate(config.databaseUrl, logger);
    } catch (error) {
      throw new CommandFailed(`migration failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (flag(args, 'json')) session.out(json({ applied }));
    else if (applied.length === 0) session.out('the database schema is up to date; nothing to apply\n');
    else session.out(`applied ${applied.length} migration${applied.length === 1 ? '' : 's'}:\n${applied.map((name) => line`  ${name}\n`).join('')}`);
  },
};
