/**
 * The escalation timetable: pure decisions about when each level falls due.
 * Level N is due `delay(N)` after the moment the previous step happened (the
 * escalate call for level 1, the execution of level N-1 otherwise), so every level
 * gets its full window even when the previous one was paged late (DESIGN.md,
 * invariant 6).
 */
export interface Timetable {
  /** Delay before each level, in ms; index 0 is level 1. Never empty. */
  readonly levelDelaysMs: readonly number[];
  /** How many more passes through the levels after the first (default 0). */
  readonly repeatCount?: number;
}

export interface ScheduledStep {
  level: number;
  repeatCycle: number;
  dueAt: Date;
}

export type NextStep = { kind: 'schedule'; step: ScheduledStep } | { kind: 'exhausted' };

export function levelCount(timetable: Timetable): number {
  return timetable.levelDelaysMs.length;
}

/** The step that entering ESCALATING schedules (in cycle `repeatCycle`, 0 the first time). */
export function firstStep(timetable: Timetable, now: Date, repeatCycle = 0): ScheduledStep {
  return { level: 1, repeatCycle, dueAt: addMs(now, delayOf(timetable, 1)) };
}

/**
 * What follows the execution of `executed` at `executedAt`: the next level, or
 * after the last one level 1 of the next cycle while repeats remain (counted from
 * `cycleBase`, the cycle the escalation started or restarted in), or exhausted.
 */
export function nextStep(timetable: Timetable, executed: { level: number; repeatCycle: number }, executedAt: Date, cycleBase = 0): NextStep {
  let level = executed.level + 1;
  let repeatCycle = executed.repeatCycle;
  if (level > levelCount(timetable)) {
    if (repeatCycle - cycleBase >= (timetable.repeatCount ?? 0)) return { kind: 'exhausted' };
    level = 1;
    repeatCycle += 1;
  }
  return { kind: 'schedule', step: { level, repeatCycle, dueAt: addMs(executedAt, delayOf(timetable, level)) } };
}

function delayOf(timetable: Timetable, level: number): number {
  const delay = timetable.levelDelaysMs[level - 1];
  if (delay === undefined) throw new RangeError(`the timetable has no level ${level}`);
  return delay;
}

function addMs(at: Date, ms: number): Date {
  return new Date(at.getTime() + ms);
}
