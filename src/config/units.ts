/**
 * Sizes in configuration, such as `512b`, `64kb`, `1mb` (durations are the domain's:
 * src/domain/durations.ts). A bare number is refused on purpose.
 */
const SIZE_UNITS_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  mb: 1024 * 1024,
};

export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text);
  const factor = match?.[2] ? SIZE_UNITS_BYTES[match[2].toLowerCase()] : undefined;
  if (!match?.[1] || factor === undefined) throw new RangeError(`"${text}" is not a size (e.g. 512b, 64kb, 1mb)`);
  const value = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(value)) throw new RangeError(`"${text}" is too large`);
  return value;
}
