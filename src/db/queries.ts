/**
 * Named SQL statements, one per .sql file in ./queries (the file's header says its
 * parameters and what it returns). Each runs as a named prepared statement: Postgres
 * parses and plans it once per connection, on first use, not at start-up.
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';

export interface NamedQuery {
  readonly name: string;
  readonly text: string;
}

const cache = new Map<string, NamedQuery>();

export function sql(name: string): NamedQuery {
  let query = cache.get(name);
  if (!query) {
    const text = readFileSync(new URL(`./queries/${name}.sql`, import.meta.url), 'utf8');
    query = { name, text };
    cache.set(name, query);
  }
  return query;
}

export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export async function run<R extends pg.QueryResultRow>(db: Queryable, query: NamedQuery, values: unknown[]): Promise<R[]> {
  const result = await db.query<R>({ name: query.name, text: query.text, values });
  return result.rows;
}
