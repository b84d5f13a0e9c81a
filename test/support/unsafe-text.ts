/** What a terminal may act on, as the CLI tests look for it in what the CLI prints. */

/**
 * What a terminal may act on or what may hide or reorder text, written as ranges so
 * the check does not share the implementation's Unicode property classes: C0 controls
 * (all of them: newline too, since `printable` text is one line), DEL and C1, the
 * zero-width and direction marks, the line and paragraph separators, the bidi embeddings,
 * overrides and isolates, the byte-order mark, surrogates (a lone one is the only kind
 * a string iterator yields) and the tag block (hidden text), assigned or not.
 */
export const UNSAFE_RANGES: readonly (readonly [number, number])[] = [
  [0x00, 0x1f],
  [0x7f, 0x9f],
  [0x200b, 0x200f],
  [0x2028, 0x202e],
  [0x2066, 0x2069],
  [0xfeff, 0xfeff],
  [0xd800, 0xdfff],
  [0xe0000, 0xe007f],
];

/** The unsafe code points of `text`, in hex, to show in a failure; `except` lists the ones allowed (a layout newline). */
export function unsafeCodePoints(text: string, except: readonly string[] = []): string[] {
  return [...text]
    .filter((char) => !except.includes(char))
    .map((char) => char.codePointAt(0) as number)
    .filter((codePoint) => UNSAFE_RANGES.some(([low, high]) => codePoint >= low && codePoint <= high))
    .map((codePoint) => codePoint.toString(16));
}
