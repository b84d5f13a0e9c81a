/**
 * Instants in requests (ISO 8601 with an offset). The schema's pattern checks the
 * shape; this checks the calendar, so 2026-13-01, 09:60 or February 30 are a 400
 * naming the field instead of an Invalid Date (a 500) or a silent roll-over.
 */
import { DateTime } from 'luxon';
import { validationProblem } from './problem.ts';

export function instant(value: string, field: string, where: 'body' | 'query'): Date {
  const parsed = DateTime.fromISO(value, { setZone: true });
  if (!parsed.isValid) {
    throw validationProblem(where, [{ field, rule: 'format', message: 'is not a real instant (ISO 8601 with an offset)' }]);
  }
  return parsed.toJSDate();
}
