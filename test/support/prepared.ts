/**
 * What a pool's connections have prepared: the warm-ups' tests check that every
 * connection has planned the statements (src/db/plan-ahead.ts).
 */
import type pg from 'pg';

/** The statements prepared on each of `connections` connections of the pool (checked out at once), by name, with how many plans each was given. */
export async function preparedOnEveryConnection(pool: pg.Pool, connections: number): Promise<Record<string, number>[]> {
  const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
  try {
    return await Promise.all(
      clients.map(async (client) => {
        const { rows } = await client.query<{ name: string; plans: number }>(
          'SELECT name, (custom_plans + generic_plans)::int AS plans FROM pg_prepared_statements',
        );
        return Object.fromEntries(rows.map((row) => [row.name, row.plans]));
      }),
    );
  } finally {
    for (const client of clients) client.release();
  }
}
