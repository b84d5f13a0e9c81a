/**
 * What the users, teams and services commands share: reading a row or answering
 * not found, keyset pages by name, and the checks a write makes first so that a
 * refusal names the field or the records at fault (the database's unique indexes and
 * foreign keys stay the backstop for races).
 */
import type pg from 'pg';
import { InUseError, NotFoundError, ReferenceNotFoundError } from '../domain/errors.ts';
import { AlreadyExistsError, type Usage } from '../domain/people.ts';
import { type NamedQuery, type Queryable, run } from '../db/queries.ts';

/** Where a page starts: the sort key (lower(name)) and id of the previous page's last row. */
export interface NameCursor {
  key: string;
  id: string;
}

export interface NamePageQuery {
  limit: number;
  after?: NameCursor | undefined;
}

export interface NamePage<T> {
  items: T[];
  next: NameCursor | null;
}

/** The row `query` finds for `id` (a read, or a lock), or NotFoundError. */
export async function oneOrNotFound<R extends pg.QueryResultRow>(db: Queryable, query: NamedQuery, resource: string, id: string): Promise<R> {
  const [row] = await run<R>(db, query, [id]);
  if (!row) throw new NotFoundError(resource, id);
  return row;
}

/** The row an INSERT or UPDATE ... RETURNING wrote. */
export function written<R>(rows: R[]): R {
  const [row] = rows;
  if (!row) throw new Error('INSERT or UPDATE ... RETURNING returned no row');
  return row;
}

/**
 * One page of a `*-list` query ($1 cursor sort key, $2 cursor id, $3 page size); one
 * extra row tells whether there is a next page without a COUNT.
 */
export async function pageByName<R extends { id: string; sort_key: string }, T>(
  db: Queryable,
  query: NamedQuery,
  page: NamePageQuery,
  toItem: (rows: R[]) => T[] | Promise<T[]>,
): Promise<NamePage<T>> {
  const rows = await run<R>(db, query, [page.after?.key ?? null, page.after?.id ?? null, page.limit + 1]);
  const shown = rows.slice(0, page.limit);
  const last = shown.at(-1);
  return {
    items: await toItem(shown),
    next: rows.length > page.limit && last ? { key: last.sort_key, id: last.id } : null,
  };
}

/**
 * Refuses a value another record already has: `query` ($1 value, $2 the id of the
 * record being edited or null) finds that other record. Nothing to check when the
 * value is not being set.
 */
export async function assertUnique(
  db: Queryable,
  query: NamedQuery,
  resource: string,
  field: string,
  value: string | undefined,
  exceptId: string | null,
): Promise<void> {
  if (value === undefined) return;
  const [other] = await run<{ id: string }>(db, query, [value, exceptId]);
  if (other) throw new AlreadyExistsError(resource, field, value);
}

/**
 * Refuses references to records that do not exist, naming each field: `query` ($1
 * uuid[]) returns, and locks until the transaction ends, the ids that exist.
 */
export async function assertExist(
  db: Queryable,
  query: NamedQuery,
  resource: string,
  refs: readonly { field: string; id: string }[],
): Promise<void> {
  if (refs.length === 0) return;
  const found = new Set((await run<{ id: string }>(db, query, [refs.map((ref) => ref.id)])).map((row) => row.id));
  const missing = refs.filter((ref) => !found.has(ref.id.toLowerCase()));
  if (missing.length > 0) {
    throw new ReferenceNotFoundError(
      missing.map(({ field, id }) => ({ field, rule: 'exists', message: `no ${resource} with id ${id}` })),
    );
  }
}

/** How many of the records that use one are named in an answer. */
export const USAGES_NAMED = 20;

/**
 * Refuses to delete a record others still refer to, naming them: `query` ($1 id, $2
 * how many rows at most) returns what uses it.
 */
export async function assertUnused(db: Queryable, query: NamedQuery, resource: string, id: string): Promise<void> {
  const usedBy = await run<Usage>(db, query, [id, USAGES_NAMED]);
  if (usedBy.length > 0) throw new InUseError(resource, usedBy);
}
