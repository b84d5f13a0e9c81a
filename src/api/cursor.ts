/** Opaque keyset cursors for incident listing: base64url of `created_at|id`. */
import type { IncidentPageCursor } from '../commands/read-incidents.ts';
import { isUuid } from '../domain/ids.ts';
import { validationProblem } from './problem.ts';

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

export function encodeCursor(cursor: IncidentPageCursor): string {
  return Buffer.from(`${cursor.createdAt}|${cursor.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(text: string): IncidentPageCursor {
  const [createdAt = '', id = '', ...rest] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || !TIMESTAMP.test(createdAt) || !isUuid(id) || Number.isNaN(Date.parse(createdAt))) {
    throw validationProblem('query', [
      { field: 'cursor', rule: 'format', message: 'is not a cursor returned by this API' },
    ]);
  }
  return { createdAt, id };
}

/** Cursors for lists ordered by a text key (a lower-cased name) and id: base64url of a JSON pair. */
export function encodeKeyCursor(cursor: { key: string; id: string }): string {
  return Buffer.from(JSON.stringify([cursor.key, cursor.id]), 'utf8').toString('base64url');
}

export function decodeKeyCursor(text: string): { key: string; id: string } {
  try {
    const [key, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    // A key with U+0000 was never a name (Postgres text cannot hold it) and would fail the query as a 500.
    if (typeof key === 'string' && !key.includes('\u0000') && typeof id === 'string' && isUuid(id)) return { key, id };
  } catch {
    // fall through to the problem below
  }
  throw validationProblem('query', [{ field: 'cursor', rule: 'format', message: 'is not a cursor returned by this API' }]);
}
