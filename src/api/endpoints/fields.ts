/** Request fields several endpoints share, declared once. */
import type { FieldIssue } from '../../domain/errors.ts';
import { Nullable, Type, Uuid } from '../../schema/types.ts';
import { validationProblem } from '../problem.ts';

/** A record's name: 1-200 characters, not only blanks. */
export const Name = () => Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });

/**
 * The team a record is made for. Absent: the caller's team (organisation-wide for an
 * organisation-wide caller). null: organisation-wide, which only an organisation-wide
 * caller may ask for. Replacing a record: absent, or its own team (it never changes).
 */
export const TeamId = () => Nullable(Uuid({ description: "absent: the caller's team; null: organisation-wide (an organisation-wide token only)" }));

/**
 * Refuses the same id twice in a list (in any letter case: the ids are normalised to
 * lower case after the schema's uniqueItems saw them as they were sent).
 */
export function assertDistinct(ids: readonly string[] | undefined, field: string): void {
  if (!ids || new Set(ids).size === ids.length) return;
  const issue: FieldIssue = { field, rule: 'uniqueItems', message: 'must not name the same id twice (in any letter case)' };
  throw validationProblem('body', [issue]);
}
