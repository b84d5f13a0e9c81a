/**
 * What the alert parsers (events-v2.ts, alertmanager.ts, grafana.ts) share: collecting
 * problems as FieldIssues, cutting text to what the incident columns hold, reading
 * RFC 3339 times, bounding arbitrary JSON before it reaches a jsonb column, and
 * Alertmanager's label fingerprint. Pure: no I/O.
 */
import type { FieldIssue } from '../errors.ts';

/** incidents.title holds 500 characters: a longer summary is cut with an ellipsis (the whole text stays in the details or annotations). */
export const MAX_TITLE_LENGTH = 500;
/** The Events API's bound on payload.source, kept for every protocol. */
export const MAX_SOURCE_LENGTH = 255;

/** How many problems one answer lists; the rest are counted (as the request validator does). */
export const MAX_REPORTED_ISSUES = 20;

/**
 * How deep any JSON an alert carries may nest. Postgres parses jsonb recursively and
 * fails past its stack depth (a body nested a few thousand deep is a 500 at the
 * insert, not a 400), and no monitoring tool nests anywhere near this.
 */
export const MAX_JSON_DEPTH = 32;

/** Problems found in a payload, in the order met; at most MAX_REPORTED_ISSUES kept, the rest counted. */
export class Issues {
  private readonly kept: FieldIssue[] = [];
  private dropped = 0;

  add(field: string, rule: string, message: string): void {
    if (this.kept.length < MAX_REPORTED_ISSUES) this.kept.push({ field, rule, message });
    else this.dropped += 1;
  }

  get empty(): boolean {
    return this.kept.length === 0;
  }

  list(): FieldIssue[] {
    if (this.dropped === 0) return [...this.kept];
    return [...this.kept, { field: '(more)', rule: 'maxErrors', message: `and ${this.dropped} more problems like these` }];
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a JSON value is, in the words an error message uses. */
export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

/** Length in code points: what Postgres' char_length counts (an emoji is one character, not two). */
export function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i += 1;
    }
    count += 1;
  }
  return count;
}

/** At most `max` code points, an ellipsis (counted) marking a cut; never half a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text; // UTF-16 units >= code points: nothing to cut
  if (codePointLength(text) <= max) return text;
  const points = Array.from(text);
  return `${points.slice(0, Math.max(max - 1, 0)).join('')}…`;
}

/** True for null, undefined, '' and whitespace only: "missing or blank" as the Events API says it. */
export function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

// Times -------------------------------------------------------------------------------------

/**
 * RFC 3339 / ISO 8601 date and time: `2026-03-01T09:00:00Z`, with any number of fraction
 * digits (Go writes nanoseconds), an offset `Z`, `+02:00`, `+0200` or `+02` (PagerDuty's
 * own example writes `+0000`), or none.
 */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

/**
 * The instant a date-time names, or null when it is not one (a bad shape, the 30th of
 * February, an hour 25). Milliseconds are kept, finer digits dropped. `offset:
 * 'required'` refuses a time without an offset (a webhook always sends one; guessing
 * the sender's zone would be wrong); `'utc'` reads one as UTC.
 */
export function parseDateTime(text: string, offset: 'required' | 'utc'): Date | null {
  const match = DATE_TIME.exec(text);
  if (!match) return null;
  const [, year, month, day, hour, minute, second, fraction, zulu, sign, offsetHours, offsetMinutes] = match as unknown as (string | undefined)[];
  if (zulu === undefined && sign === undefined && offset === 'required') return null;
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  const h = Number(hour);
  const mi = Number(minute);
  const s = Number(second);
  const ms = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const oh = Number(offsetHours ?? 0);
  const om = Number(offsetMinutes ?? 0);
  if (oh > 23 || om > 59) return null;
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0 to 99 as 1900 to 1999, and Go's
  // zero time is year 1.
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null; // 2026-02-30
  date.setUTCHours(h, mi, s, ms);
  const offsetMs = (sign === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  return new Date(date.getTime() - offsetMs);
}

/**
 * Go's zero time (`0001-01-01T00:00:00Z`), which Alertmanager and Grafana write for a
 * time that is not set (an endsAt of an alert still firing): year 1 means none.
 */
export function isZeroTime(date: Date): boolean {
  return date.getUTCFullYear() <= 1;
}

// Arbitrary JSON ------------------------------------------------------------------------------

/** A lone surrogate: with the u flag a well-formed pair is one code point and does not match. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The first reason a JSON value cannot be stored as it is, or null: nesting deeper than
 * `maxDepth` (the value itself is depth 1), or a string or key holding U+0000 or a lone
 * surrogate (JSON can spell both, `\u0000` and `\ud800`; Postgres text and jsonb hold
 * neither, and the insert would fail). Walked without recursion, so a body nested
 * 100,000 deep is refused, not a stack overflow. The field named is where the walk met
 * the problem (cut to 200 characters: a key may be long).
 */
export function jsonProblem(value: unknown, field: string, maxDepth = MAX_JSON_DEPTH): FieldIssue | null {
  const unstorable = (text: string): string | null => {
    if (text.includes('\u0000')) return 'must not contain the character U+0000 (NUL)';
    if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode (it holds a lone surrogate)';
    return null;
  };
  const pending: [value: unknown, path: string, depth: number][] = [[value, field, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, path, depth] = next;
    if (typeof item === 'string') {
      const message = unstorable(item);
      if (message) return { field: cutText(path, 200) || '(body)', rule: 'format', message };
      continue;
    }
    if (typeof item !== 'object' || item === null) continue;
    if (depth > maxDepth) {
      return { field: cutText(path, 200) || '(body)', rule: 'maxDepth', message: `nests too deep (at most ${maxDepth} levels of objects and arrays)` };
    }
    for (const [key, inner] of Object.entries(item)) {
      const innerPath = path ? `${path}.${key}` : key;
      const message = unstorable(key);
      if (message) return { field: cutText(innerPath, 200), rule: 'format', message: `has a key that ${message}` };
      pending.push([inner, innerPath, depth + 1]);
    }
  }
  return null;
}

// Label fingerprints ------------------------------------------------------------------------

const FNV_OFFSET_64 = 14695981039346656037n;
const FNV_PRIME_64 = 1099511628211n;
const MASK_64 = 0xffffffffffffffffn;
/** prometheus/common model.SeparatorByte: a byte that is never in valid UTF-8. */
const SEPARATOR_BYTE = 0xff;

/**
 * The fingerprint Alertmanager gives an alert (prometheus/common model
 * LabelSet.Fingerprint, printed `%016x`): 64-bit FNV-1a over the labels sorted by name
 * (byte order, as Go sorts strings), each name and value followed by the byte 0xff.
 * Computing the same function means an alert sent without a fingerprint (older
 * senders, hand-written webhooks) dedups with the same alert sent with one.
 */
export function labelsFingerprint(labels: Readonly<Record<string, string>>): string {
  const encoded = Object.entries(labels)
    .map(([name, value]) => [Buffer.from(name, 'utf8'), Buffer.from(value, 'utf8')] as const)
    .sort(([a], [b]) => Buffer.compare(a, b));
  let hash = FNV_OFFSET_64;
  const add = (byte: number) => {
    hash = ((hash ^ BigInt(byte)) * FNV_PRIME_64) & MASK_64;
  };
  for (const [name, value] of encoded) {
    for (const byte of name) add(byte);
    add(SEPARATOR_BYTE);
    for (const byte of value) add(byte);
    add(SEPARATOR_BYTE);
  }
  return hash.toString(16).padStart(16, '0');
}
