/**
 * The string formats of the API's schemas, each declared once: how it is checked, how
 * an error reads, and how a valid value is normalised (ids in lower case, time zones
 * under their canonical name) before any handler sees it. The validator
 * (./validator.ts) registers them with ajv; a schema names one with `format`, so the
 * rule lives in the schema and shows in the OpenAPI document.
 */
import { DateTime } from 'luxon';
import { isUuid } from '../domain/ids.ts';

export interface StringFormat {
  valid(value: string): boolean;
  /** How a broken value is described in a 400 (after the field name). */
  message: string;
  /** The canonical spelling of a valid value; absent: kept as sent. */
  normalise?(value: string): string;
}

/**
 * The shape of an instant: ISO 8601 with an offset; seconds and up to 6 fraction digits
 * optional. Hours 00-23 and minutes and seconds 00-59: ISO's 24:00 and a leap second's
 * :60 are other spellings of instants that have a plain one.
 */
const INSTANT_SHAPE = /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]\d{2}:[0-5]\d)$/;
const DATE_SHAPE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The instants and dates the API accepts. Postgres takes a wider range, but a year 0000
 * is no Postgres date at all and a year 12345 no ISO 8601 one: bounding here keeps
 * every accepted value storable and printable.
 */
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(10_000, 0, 1) - 1;
/** The widest UTC offset in use (UTC+14, Line Islands); -12:00 is the other end. */
const MAX_OFFSET_MINUTES = 14 * 60;

/** The instant a valid `date-time` string names (luxon, because Date.parse rolls 2026-02-30 over to March). */
export function toInstant(text: string): Date {
  return DateTime.fromISO(text, { setZone: true }).toJSDate();
}

/** Whether a string is an instant the API accepts: the shape, a real calendar day and time, 1970-9999, offset within ±14:00. */
export function isInstant(text: string): boolean {
  if (!INSTANT_SHAPE.test(text)) return false;
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(text);
  if (offset && Number(offset[2]) * 60 + Number(offset[3]) > MAX_OFFSET_MINUTES) return false;
  const parsed = DateTime.fromISO(text, { setZone: true });
  if (!parsed.isValid) return false;
  const at = parsed.toMillis();
  return at >= EARLIEST && at <= LATEST;
}

/** A calendar date YYYY-MM-DD between 1970 and 9999. */
export function isDate(text: string): boolean {
  if (!DATE_SHAPE.test(text)) return false;
  const parsed = DateTime.fromISO(text, { zone: 'UTC' });
  return parsed.isValid && parsed.year >= 1970 && parsed.year <= 9999;
}

/** The canonical IANA name of a time zone (`europe/berlin` -> `Europe/Berlin`), or undefined. */
export function canonicalTimeZone(zone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** A lone surrogate: with the u flag a well-formed pair is one code point and does not match. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Whether a string holds a lone surrogate (JSON may spell one, `\ud800`): no UTF-8
 * can encode it, so it would be stored as U+FFFD, silently changed.
 */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/** Text Postgres can store as it is: no U+0000 (text cannot hold it), no lone surrogate. */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !hasLoneSurrogate(text);
}

/** E.164: +, a country code that does not start with 0, 7 to 15 digits in all. */
const E164 = /^\+[1-9][0-9]{6,14}$/;

/**
 * Our own formats. `email` comes from ajv-formats; the `message` for it is here too
 * (FORMAT_MESSAGES) so every format's words are in one table.
 */
export const FORMATS = {
  /** Any letter case in, lower case out (as Postgres writes UUIDs). */
  uuid: { valid: isUuid, message: 'must be a UUID', normalise: (value) => value.toLowerCase() },
  'date-time': {
    valid: isInstant,
    message: 'must be an ISO 8601 instant with an offset (at most ±14:00) between 1970 and 9999, e.g. 2026-03-01T09:00:00Z (send + as %2B)',
  },
  date: { valid: isDate, message: 'must be a calendar date YYYY-MM-DD between 1970 and 9999' },
  'time-zone': {
    valid: (value) => value.length <= 64 && canonicalTimeZone(value) !== undefined,
    message: 'must be an IANA time zone, such as Europe/Berlin or UTC',
    normalise: (value) => canonicalTimeZone(value) ?? value,
  },
  e164: { valid: (value) => E164.test(value), message: 'must be an E.164 phone number: + and 7 to 15 digits, such as +4915112345678' },
} satisfies Record<string, StringFormat>;

export type FormatName = keyof typeof FORMATS | 'email';

export const FORMAT_MESSAGES: Readonly<Record<FormatName, string>> = {
  ...Object.fromEntries(Object.entries(FORMATS).map(([name, format]) => [name, format.message])),
  email: 'must look like an email address, such as ada@example.com',
} as Record<FormatName, string>;
