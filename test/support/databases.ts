/**
 * A fresh database per test file, cloned from a template that holds the migrated
 * schema: CREATE DATABASE ... TEMPLATE takes ~50 ms, where migrating would take
 * seconds. The template is rebuilt once per run, so a changed migration is tested.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/log/logger.ts';

// One id per test run, so two runs against the same Postgres (a developer's and a
// helper's) never drop each other's databases.
// The run's start (epoch seconds) leads the name, so leftovers of interrupted runs
// can be told from the databases of a run still going.
const RUN = `${Math.floor(Date.now() / 1000)}_${randomBytes(3).toString('hex')}`;
const STALE_AFTER_S = 3600;
const TEMPLATE = `klaxon_test_${RUN}_template`;

export function adminUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the tests with `npm test`, which starts Postgres and Redis');
  return url;
}

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function prepareTemplate(): Promise<void> {
  await withAdmin(async (admin) => {
    // Leftovers of interrupted runs: test databases from runs that started over an
    // hour ago (no run lasts that long), and that nobody is connected to.
    const leftovers = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database d
       WHERE datname ~ '^klaxon_test_[0-9]+_'
         AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`,
    );
    const cutoff = Date.now() / 1000 - STALE_AFTER_S;
    for (const { datname } of leftovers.rows) {
      if (Number(datname.split('_')[2]) < cutoff) {
        await admin.query(`DROP DATABASE IF EXISTS "${datname}"`).catch(() => undefined);
      }
    }
    await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  });
  const quiet = createLogger({ level: 'warn', format: 'json' });
  await migrate(databaseUrl(TEMPLATE), quiet);
}

export async function createTestDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `klaxon_test_${RUN}_${randomBytes(6).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE "${name}" TEMPLATE ${TEMPLATE}`));
  return {
    name,
    url: databaseUrl(name),
    drop: () => withAdmin(async (admin) => void (await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}

export async function dropTemplate(): Promise<void> {
  await withAdmin(async (admin) => void (await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`)));
}

/** The SQLSTATE Postgres refused `work` with; throws when it was not refused. */
export async function refusalCode(work: Promise<unknown>, what = 'the statement'): Promise<string> {
  try {
    await work;
  } catch (error) {
    return (error as { code: string }).code;
  }
  throw new Error(`expected the database to refuse ${what}`);
}
