/** A UUID in any case, as a JSON-schema pattern (src/api/schemas.ts) and as a test here. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const UUID = new RegExp(UUID_PATTERN);

/** Ids are UUIDs; anything else is refused before it reaches a uuid column. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
