/**
 * Opaque keyset cursors, and their checks: a cursor a client edited, truncated or
 * made up is a 400 naming `cursor`, never a statement Postgres refuses (a 500).
 *
 * - Incident pages: base64url of `created_at|id`, created_at at Postgres' microsecond
 *   precision. The instant must be one the API accepts (a real calendar day, 1970-9999,
 *   offset within ±14:00: 2026-02-30, year 0000 or -23:59 would fail in Postgres).
 * - Pages by name: base64url of the JSON pair [sort key, id]; the key is text Postgres
 *   can hold (no U+0000, no lone surrogate).
 */
import type { NameCursor } from '../commands/records.ts';
import type { IncidentPageCursor } from '../commands/read-incidents.ts';
import { isUuid } from '../domain/ids.ts';
import { isInstant, isStorableText } from '../schema/formats.ts';
import { validationProblem } from './problem.ts';

const notACursor = () => validationProblem('query', [{ field: 'cursor', rule: 'format', message: 'is not a cursor returned by this API' }]);

export function encodeCursor(cursor: IncidentPageCursor): string {
  return Buffer.from(`${cursor.createdAt}|${cursor.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(text: string): IncidentPageCursor {
  const [createdAt = '', id = '', ...rest] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || !isInstant(createdAt) || !isUuid(id)) throw notACursor();
  return { createdAt, id: id.toLowerCase() };
}

export function encodeKeyCursor(cursor: NameCursor): string {
  return Buffer.from(JSON.stringify([cursor.key, cursor.id]), 'utf8').toString('base64url');
}

export function decodeKeyCursor(text: string): NameCursor {
  let pair: unknown;
  try {
    pair = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw notACursor();
  }
  if (!Array.isArray(pair) || pair.length !== 2) throw notACursor();
  const [key, id] = pair as unknown[];
  if (typeof key !== 'string' || !isStorableText(key) || typeof id !== 'string' || !isUuid(id)) throw notACursor();
  return { key, id: id.toLowerCase() };
}
