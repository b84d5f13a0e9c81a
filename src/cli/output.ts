/**
 * How the CLI shows things to people: aligned tables, short timestamps, JSON for machines.
 *
 * Stored text (titles, notes, actors, names) and error messages from Postgres or Redis
 * may hold what a terminal acts on: escape sequences (OSC 52 writes the clipboard, CSI
 * moves the cursor and clears the screen), C1 controls, BEL, backspaces and carriage
 * returns that overwrite what was printed, and format characters that reorder or hide
 * text (bidi overrides, zero-width characters). So every helper here that lays out text
 * escapes it with `printable` (and `json` what JSON.stringify leaves raw), main.ts passes
 * whatever the commands write through `terminalSafe`, which escapes what a forgotten path
 * would still let through, and the CLI's logger escapes what it logs (session.ts).
 */

/** An instant to the second, in UTC (`2026-11-23 16:20:00Z`); `-` for none. */
export function when(at: Date | null | undefined): string {
  if (!at) return '-';
  return `${at.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** A duration in ms as people read it: `850ms`, `42s`, `5m 3s`, `2h 10m`, `3d 4h`. */
export function age(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1_000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

// ------------------------------------------------------------------------- escaping

/**
 * What `printable` escapes: the backslash (so that every backslash in its output starts
 * an escape, and `\x1b` typed into a title cannot pass for an escaped ESC), the control
 * characters (C0, DEL, C1), the format characters (bidi embeddings, overrides, isolates
 * and marks, zero-width characters, the byte-order mark, soft hyphen, tag characters),
 * the line and paragraph separators, lone surrogates, and the code points Unicode (as
 * this Node knows it) leaves unassigned or calls noncharacters: what cannot be told
 * printable is shown as its code.
 */
const UNPRINTABLE_OR_BACKSLASH = /[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Cn}]/gu;

/** The same, but the newline that ends lines of output, and not the backslash: see terminalSafe. */
const UNPRINTABLE_BUT_NEWLINE = /[^\P{Cc}\n]|[\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Cn}]/gu;

/** What JSON.stringify leaves raw (it escapes C0 controls and lone surrogates only) and printable would escape. */
const JSON_UNSAFE = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}\p{Cn}]/gu;

const SHORT_ESCAPES: ReadonlyMap<string, string> = new Map([
  ['\\', '\\\\'],
  ['\t', '\\t'],
  ['\n', '\\n'],
  ['\r', '\\r'],
]);

const hex = (value: number, digits: number) => value.toString(16).padStart(digits, '0');

/** One code point as JavaScript would spell it: `\\`, `\n`, `\x1b`, `\u202e`, `\u{e0041}`. */
function escapeCodePoint(char: string): string {
  const short = SHORT_ESCAPES.get(char);
  if (short !== undefined) return short;
  const codePoint = char.codePointAt(0) as number;
  if (codePoint < 0x80) return `\\x${hex(codePoint, 2)}`;
  if (codePoint <= 0xffff) return `\\u${hex(codePoint, 4)}`;
  return `\\u{${hex(codePoint, 5)}}`;
}

/**
 * `text` with every code point a terminal could act on, or that could hide or reorder
 * text, written as its visible escape, and every backslash doubled: `\x1b]52;c;...\x07`,
 * `\u009b`, `\u202e`, `\t`, `\n`. The result is one line, and unambiguous: each
 * escape reads back as exactly one code point.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE_OR_BACKSLASH, escapeCodePoint);
}

/**
 * A message whose interpolated values are made printable; its literal parts are the
 * CLI's own text (newlines included): line`incident ${id} "${title}" is ${state}\n`.
 */
export function line(literals: TemplateStringsArray, ...values: readonly (string | number)[]): string {
  return literals.reduce((text, literal, i) => `${text}${printable(String(values[i - 1]))}${literal}`);
}

/** `printable` line by line, keeping the line breaks: for text meant to span lines, such as a stack trace. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/**
 * The last guard on everything the CLI writes: escapes what `printable` escapes but
 * the newlines that end lines of output and the backslashes, so text that went
 * through `printable` (or JSON) passes unchanged, and text a command forgot to escape
 * still reaches the terminal inert (though not unambiguous: that is printable's job).
 */
export function terminalSafe(text: string): string {
  return text.replace(UNPRINTABLE_BUT_NEWLINE, escapeCodePoint);
}

// ------------------------------------------------------------------------- layout

/** Whitespace that only lays text out (tabs, line breaks, spaces of any width), made one space by clip. */
const LAYOUT_WHITESPACE = /[\t\n\v\f\r\p{Zs}]+/gu;

/**
 * On one line, at most `max` columns once printable: layout whitespace becomes one
 * space; the cut falls between code points (never inside an escape, nor a surrogate
 * pair). The text is returned unescaped: table, fields and line escape it.
 */
export function clip(text: string | null | undefined, max: number): string {
  if (!text) return '-';
  const oneLine = text.replace(LAYOUT_WHITESPACE, ' ').replace(/^ | $/g, '');
  if (printable(oneLine).length <= max) return oneLine;
  let kept = '';
  let width = 1; // the ellipsis
  for (const char of oneLine) {
    width += printable(char).length;
    if (width > max) break;
    kept += char;
  }
  return `${kept}…`;
}

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. Every cell is made printable. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const shown = [headers, ...rows].map((cells) => cells.map(printable));
  const widths = headers.map((_, i) => Math.max(...shown.map((cells) => (cells[i] ?? '').length)));
  const joinCells = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return `${shown.map(joinCells).join('\n')}\n`;
}

/** `label  value` pairs, labels aligned; labels and values made printable. */
export function fields(pairs: readonly (readonly [string, string])[]): string {
  const shown = pairs.map(([label, value]) => [printable(label), printable(value)] as const);
  const width = Math.max(...shown.map(([label]) => label.length));
  return `${shown.map(([label, value]) => `${label.padEnd(width)}  ${value}`.trimEnd()).join('\n')}\n`;
}

/** Each UTF-16 unit of `char` as a JSON escape (a tag character is a surrogate pair: two). */
function jsonEscape(char: string): string {
  return Array.from({ length: char.length }, (_, i) => `\\u${hex(char.charCodeAt(i), 4)}`).join('');
}

/**
 * Pretty JSON with the code points JSON.stringify leaves raw but `printable` would
 * escape (DEL, C1 controls, format characters, line and paragraph separators, unassigned
 * code points) written as \uXXXX escapes: they can only occur inside strings, so the
 * JSON stays valid and parses back equal.
 */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2).replace(JSON_UNSAFE, jsonEscape)}\n`;
}
