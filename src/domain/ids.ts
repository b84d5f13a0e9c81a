/** A UUID in any case: the `uuid` format of the API's schemas (src/schema/formats.ts) and cursors. */
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Ids are UUIDs; anything else is refused before it reaches a uuid column. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
