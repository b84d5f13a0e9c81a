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

/** The step that entering ESCALATING schedules. */
export function firstStep(timetable: Timetable, now: Date): ScheduledStep {
  return { level: 1, repeatCycle: 0, dueAt: addMs(now, delayOf(timetable, 1)) };
}

/** What follows the execution of `executed` at `executedAt`. */
export function nextStep(
  timetable: Timetable,
  executed: { level: number; repeatCycle: number },
  executedAt: Date,
): NextStep {
  const level = executed.level + 1;
  if (level > levelCount(timetable)) return { kind: 'exhausted' };
  return {
    kind: 'schedule',
    step: { level, repeatCycle: executed.repeatCycle, dueAt: addMs(executedAt, delayOf(timetable, level)) },
  };
}

function delayOf(timetable: Timetable, level: number): number {
  const delay = timetable.levelDelaysMs[level - 1];
  if (delay === undefined) throw new RangeError(`the timetable has no level ${level}`);
  return delay;
}

function addMs(at: Date, ms: number): Date {
  return new Date(at.getTime() + ms);
}
