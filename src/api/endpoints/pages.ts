/** What every list endpoint shares: the page it is asked for (`limit`, `cursor`) and the page it answers. */
import type { NamePage, NamePageQuery } from '../../commands/records.ts';
import { type Static, Type } from '../../schema/types.ts';
import { decodeKeyCursor, encodeKeyCursor } from '../cursor.ts';

export const DEFAULT_PAGE_SIZE = 50;

/**
 * `limit` 1-200 (default 50) and the `cursor` of the previous page. A cursor is at most
 * 2,000 characters: with `?limit=200&cursor=` that fits the 2,048-byte request target
 * (src/api/request-limits.ts).
 */
export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'Items per page (default 50)' })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'next_cursor of the previous page' })),
  },
  { additionalProperties: false },
);

/** The page a list-by-name request asks for. */
export function namePage(query: Static<typeof PageQuery>): NamePageQuery {
  return { limit: query.limit ?? DEFAULT_PAGE_SIZE, after: query.cursor === undefined ? undefined : decodeKeyCursor(query.cursor) };
}

/** A page of records by name, presented. */
export function presentNamePage<T, V>(page: NamePage<T>, present: (record: T) => V): { items: V[]; next_cursor: string | null } {
  return { items: page.items.map(present), next_cursor: page.next ? encodeKeyCursor(page.next) : null };
}
