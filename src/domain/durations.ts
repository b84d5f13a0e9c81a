/**
 * Durations as people write them (`250ms`, `30s`, `5m`, `1h`, `1d`), and every bound on
 * one, declared in one place: configured level delays, a policy's level delays, a
 * snooze. A bare number is refused on purpose: `ESCALATION_LEVELS=5` would be
 * ambiguous at 3 a.m.
 */
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR, d: DAY };

export interface DurationBounds {
  min: number;
  max: number;
  /** As people read the bounds in an error: `between 1s and 7d`. */
  readonly text: string;
  /** 0 is allowed too, meaning "at once", below `min`. */
  readonly zero?: boolean;
}

function bounds(min: number, max: number, text = `between ${formatDuration(min)} and ${formatDuration(max)}`): DurationBounds {
  return { min, max, text };
}

export const DURATION_BOUNDS = {
  /**
   * A level delay of the configured default timetable (ESCALATION_LEVELS). Below 100 ms
   * is a typo; 100 ms is allowed so that tests and benchmarks can run the timetable fast.
   */
  configuredLevelDelay: bounds(100, 7 * DAY),
  /**
   * A level delay of an escalation policy: 0 pages at once (issue 11: level 1 may fire
   * when escalation starts); between 0 and a second is a typo; above a week is not paging.
   */
  policyLevelDelay: { ...bounds(SECOND, 7 * DAY, '0s (at once) or between 1s and 7d'), zero: true },
  /**
   * A person's notification rule: 0 is at once; after a day nobody is still waiting to be
   * told (the notifications migration bounds delay_ms the same way).
   */
  notificationRuleDelay: { ...bounds(SECOND, DAY, '0s (at once) or between 1s and 24h'), zero: true },
  /** A snooze: shorter than a minute is a typo, longer than a day should be a resolve. */
  snooze: bounds(MINUTE, DAY, 'between 1m and 24h'),
  /**
   * How long the API keeps an idle keep-alive connection (HTTP_KEEP_ALIVE_TIMEOUT): 0 would
   * keep it forever; past 15 minutes no proxy in front still holds its end.
   */
  keepAliveTimeout: bounds(SECOND, 15 * MINUTE),
  /**
   * How long a batch in flight holds a worker's next claim back without a backlog
   * (WORKER_OVERLAP_AFTER): 0 is not at all; past a minute a batch is stuck, not slow,
   * and a timer that long is no longer a wait Node keeps (past 24.8 days it fires at once).
   */
  overlapAfter: { ...bounds(1, MINUTE, '0ms (at once) or between 1ms and 1m'), zero: true },
} as const;

/** Milliseconds of a duration such as `250ms`, `30s`, `5m`, `1h`, `1d`; a RangeError saying why not. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text);
  const factor = match?.[2] ? UNITS_MS[match[2].toLowerCase()] : undefined;
  // Quoted as JSON: a control character in the text (an environment variable, a request)
  // reaches a terminal or a log line escaped, not raw.
  const quoted = JSON.stringify(text);
  if (!match?.[1] || factor === undefined) throw new RangeError(`${quoted} is not a duration (e.g. 250ms, 30s, 5m, 1h, 1d)`);
  const value = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(value)) throw new RangeError(`${quoted} is too large`);
  return value;
}

/** The duration's milliseconds when it parses and lies within `bounds`; else why not, in words. */
export function durationWithin(text: string, limits: DurationBounds): { ok: true; ms: number } | { ok: false; reason: 'format' | 'range'; message: string } {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    return { ok: false, reason: (error as Error).message.endsWith('too large') ? 'range' : 'format', message: (error as Error).message };
  }
  if (ms === 0 && limits.zero === true) return { ok: true, ms };
  if (ms < limits.min || ms > limits.max) return { ok: false, reason: 'range', message: `must be ${limits.text}` };
  return { ok: true, ms };
}

/** The shortest way to write a duration: `5m`, `90s`, `250ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, factor] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
    ['s', SECOND],
  ] as const) {
    if (ms >= factor && ms % factor === 0) return `${ms / factor}${unit}`;
  }
  return `${ms}ms`;
}
