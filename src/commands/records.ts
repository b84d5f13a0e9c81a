/**
 * What the users, teams and services commands share: reading a row or answering
 * not found, keyset pages by name, and the checks a write makes first so that a
 * refusal names the field or the records at fault (the database's unique indexes and
 * foreign keys stay the backstop for races).
 */
import type pg from 'pg';
import { InUseError, InvalidInputError, NotFoundError, ReferenceNotFoundError, TeamNotAllowedError } from '../domain/errors.ts';
import { type TeamScope, canSee, mayRefer } from '../domain/team-scope.ts';
import { AlreadyExistsError, type Usage } from '../domain/people.ts';
import { type NamedQuery, type Queryable, run, sql } from '../db/queries.ts';

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

/**
 * The row `query` finds for `id` when it belongs to a team the caller sees (the row
 * has team_id); another team's row answers exactly as a missing one does.
 */
export async function visibleOrNotFound<R extends pg.QueryResultRow & { team_id: string | null }>(
  db: Queryable,
  query: NamedQuery,
  scope: TeamScope,
  resource: string,
  id: string,
): Promise<R> {
  const row = await oneOrNotFound<R>(db, query, resource, id);
  if (!canSee(scope, row.team_id)) throw new NotFoundError(resource, id);
  return row;
}

/**
 * The team a new record belongs to: a team's caller makes its own team's records
 * (naming another team is an unknown reference; asking for none, `null`, is refused:
 * only an organisation-wide caller makes organisation-wide records); an
 * organisation-wide caller names a team (checked, and locked against deletion) or
 * none (organisation-wide).
 */
export async function ownerTeam(db: Queryable, scope: TeamScope, requested: string | null | undefined): Promise<string | null> {
  if (scope.teamId !== null) {
    if (requested === null) {
      throw new TeamNotAllowedError([
        {
          field: 'team_id',
          rule: 'organisation',
          message: "a team's token makes its own team's records: leave team_id out, or use an organisation-wide token",
        },
      ]);
    }
    if (requested !== undefined && requested !== scope.teamId) throw unknownTeam(requested);
    return scope.teamId;
  }
  if (requested == null) return null;
  await assertExist(db, sql('teams-existing'), 'team', [{ field: 'team_id', id: requested }]);
  return requested;
}

/** A record's team is chosen when it is made and never changes (naming the same team again is fine). */
export function assertTeamUnchanged(current: string | null, requested: string | null | undefined): void {
  if (requested === undefined || requested === current) return;
  throw new InvalidInputError([{ field: 'team_id', rule: 'immutable', message: "a record's team cannot be changed" }]);
}

function unknownTeam(id: string): ReferenceNotFoundError {
  return new ReferenceNotFoundError([{ field: 'team_id', rule: 'exists', message: `no team with id ${id}` }]);
}

/** The row an INSERT or UPDATE ... RETURNING wrote. */
export function written<R>(rows: R[]): R {
  const [row] = rows;
  if (!row) throw new Error('INSERT or UPDATE ... RETURNING returned no row');
  return row;
}

/**
 * One page of a `*-list` query ($1 cursor sort key, $2 cursor id, $3 page size, then
 * `filters`, e.g. the caller's team); one extra row tells whether there is a next
 * page without a COUNT.
 */
export async function pageByName<R extends { id: string; sort_key: string }, T>(
  db: Queryable,
  query: NamedQuery,
  page: NamePageQuery,
  toItem: (rows: R[]) => T[] | Promise<T[]>,
  filters: unknown[] = [],
): Promise<NamePage<T>> {
  const rows = await run<R>(db, query, [page.after?.key ?? null, page.after?.id ?? null, page.limit + 1, ...filters]);
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
  filters: unknown[] = [],
): Promise<void> {
  if (value === undefined) return;
  const [other] = await run<{ id: string }>(db, query, [value, exceptId, ...filters]);
  if (other) throw new AlreadyExistsError(resource, field, value);
}

/**
 * Refuses references to records that do not exist, naming each field: `query` ($1
 * uuid[]) returns, and locks until the transaction ends, the ids that exist. With
 * `owner` (the team of the record that refers; the query then returns team_id too),
 * a record the owner may not refer to (another team's) counts as missing.
 */
export async function assertExist(
  db: Queryable,
  query: NamedQuery,
  resource: string,
  refs: readonly { field: string; id: string }[],
  owner?: { teamId: string | null },
): Promise<void> {
  if (refs.length === 0) return;
  const rows = await run<{ id: string; team_id?: string | null }>(db, query, [refs.map((ref) => ref.id)]);
  const usable = owner ? rows.filter((row) => mayRefer(owner.teamId, row.team_id ?? null)) : rows;
  const found = new Set(usable.map((row) => row.id));
  const missing = refs.filter((ref) => !found.has(ref.id.toLowerCase()));
  if (missing.length > 0) {
    throw new ReferenceNotFoundError(missing.map(({ field, id }) => ({ field, rule: 'exists', message: `no ${resource} with id ${id}` })));
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
