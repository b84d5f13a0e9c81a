/**
 * Human-friendly units in configuration: durations such as `250ms`, `30s`, `5m`,
 * `1h`, `1d`, and sizes such as `64kb`, `1mb`. A bare number is refused on purpose:
 * `ESCALATION_LEVELS=5` would be ambiguous at 3 a.m.
 */
const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const SIZE_UNITS_BYTES: Record<string, number> = {
  b: 1,
  kb: 1024,
  mb: 1024 * 1024,
};

export function parseDuration(text: string): number {
  return parseWithUnit(text, DURATION_UNITS_MS, 'a duration', 'e.g. 250ms, 30s, 5m, 1h, 1d');
}

export function parseSize(text: string): number {
  return parseWithUnit(text, SIZE_UNITS_BYTES, 'a size', 'e.g. 512b, 64kb, 1mb');
}

function parseWithUnit(text: string, units: Record<string, number>, what: string, examples: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text);
  const factor = match?.[2] ? units[match[2].toLowerCase()] : undefined;
  if (!match?.[1] || factor === undefined) {
    throw new RangeError(`"${text}" is not ${what} (${examples})`);
  }
  const value = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(value)) throw new RangeError(`"${text}" is too large`);
  return value;
}

export function formatDuration(ms: number): string {
  for (const [unit, factor] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms >= factor && ms % factor === 0) return `${ms / factor}${unit}`;
  }
  return `${ms}ms`;
}
