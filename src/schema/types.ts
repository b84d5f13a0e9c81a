/**
 * Building blocks for the JSON schemas of what the API accepts and answers, written
 * with TypeBox: each is a plain JSON Schema object (ajv validates with it, the OpenAPI
 * 3.1 document embeds it as it is) and, through `Static<typeof X>`, the TypeScript type
 * of the values it admits, so a handler's input and a presenter's output cannot drift
 * from their schemas. (Why TypeBox over ajv's JSONSchemaType: that one checks a
 * hand-written type against a schema, so every shape is written twice; TypeBox writes
 * it once. Over json-schema-to-ts: no `as const` literals, and fast to type-check.)
 *
 * Conventions the tests hold every schema to: every array says the type of its items
 * (ajv's uniqueItems on untyped items deep-compares in O(n^2) and recurses without
 * bound); nullable values are `type: [T, 'null']`, not anyOf, so an error names one
 * rule.
 */
import { type Static, type TProperties, type TSchema, Type } from 'typebox';
import type { FormatName } from './formats.ts';

export { Type, type Static, type TProperties, type TSchema };

/** A string in one of the formats of ./formats.ts. */
export function Formatted(format: FormatName, options: Record<string, unknown> = {}) {
  return Type.String({ format, ...options });
}

export const Uuid = (options: Record<string, unknown> = {}) => Formatted('uuid', options);
/** An instant: ISO 8601 with an offset (`2026-03-01T09:00:00Z`). */
export const Instant = (options: Record<string, unknown> = {}) => Formatted('date-time', options);

/** One of these strings (with `type: 'string'`, unlike TypeBox's own enums: see the conventions above). */
export function StringEnum<const V extends readonly string[]>(values: V, options: Record<string, unknown> = {}) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options });
}

/** The schema, or null: `type: [T, 'null']` (and null among an enum's values). */
export function Nullable<T extends TSchema>(schema: T) {
  const plain = { ...(schema as unknown as Record<string, unknown>) };
  if (typeof plain.type !== 'string') throw new Error('Nullable() takes a schema with one type');
  const nullable: Record<string, unknown> = { ...plain, type: [plain.type, 'null'] };
  if (Array.isArray(plain.enum)) nullable.enum = [...(plain.enum as unknown[]), null];
  return Type.Unsafe<Static<T> | null>(nullable);
}

/** A list page: `items`, and `next_cursor` to pass back as `cursor` (null on the last page). */
export function Page<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    next_cursor: Nullable(Type.String({ description: 'Pass back as `cursor` for the next page; null on the last one' })),
  });
}
