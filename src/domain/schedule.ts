/**
 * On-call schedules: who is on call at an instant, and the shifts in a window, from a
 * rotation plus temporary overrides. Pure: every instant is passed in, nothing reads
 * the clock, so a schedule answers the same question the same way on every node.
 *
 * Semantics, as users of PagerDuty/Opsgenie-like tools expect them:
 * - `days` and `weeks` shifts hand off at the same LOCAL wall-clock time
 *   (`handoffTime` in `timeZone`) every N days or weeks. Across a daylight-saving
 *   change the shift containing it is an hour shorter or longer in absolute time
 *   (a weekly shift is 167 h or 169 h), but the hand-off stays at 09:00 on the clock.
 * - `hours` shifts are fixed absolute durations (N × 3600 s) counted from the first
 *   hand-off instant, so across a daylight-saving change they drift by an hour
 *   relative to the wall clock (a 09:00/21:00 rotation becomes 10:00/22:00).
 * - A hand-off time that does not exist on a local day (the spring-forward gap, e.g.
 *   02:30 on the night clocks jump 02:00 → 03:00) happens at the first instant after
 *   the gap (03:00), not "02:30 shifted by the gap length" (03:30, luxon's default).
 *   An ambiguous one (fall back: 01:30 happens twice) happens at its FIRST occurrence.
 *   Both are resolved here explicitly: luxon resolves an ambiguous time from a
 *   reference offset (the current time's, for `fromObject`), which would make the
 *   answer depend on when it is asked.
 * - Before the rotation's first hand-off nobody is on call from the rotation (null).
 * - Overrides win over the rotation for their half-open interval [from, to). When
 *   overrides overlap, the one that starts later wins (the most recent decision);
 *   equal starts go to the later one in the array. An override with to <= from is
 *   empty and changes nothing. Overrides apply before the rotation starts too.
 *
 * The shift containing an instant is found arithmetically (local-date difference,
 * floor division), so asking about a date years after `startDate` costs the same as
 * asking about the first week.
 */
import { DateTime, IANAZone } from 'luxon';

export type ShiftUnit = 'hours' | 'days' | 'weeks';

export interface Rotation {
  /** Ordered, at least one; a user may appear more than once. */
  userIds: readonly string[];
  /** A whole number of `shiftUnit`s, >= 1. */
  shiftLength: number;
  shiftUnit: ShiftUnit;
  /** Local wall-clock time of the hand-off in the time zone, "HH:MM" (24 h). */
  handoffTime: string;
  /** IANA, e.g. "Europe/Berlin". */
  timeZone: string;
  /** The rotation's first shift starts at handoffTime on this local date (YYYY-MM-DD), with userIds[0]. */
  startDate: string;
}

/** Someone else takes the rotation's place for the half-open interval [from, to). */
export interface Override {
  userId: string;
  from: Date;
  to: Date;
}

/** A stretch of one person's on-call time, half-open; `overridden` when an override put them there. */
export interface Shift {
  userId: string;
  from: Date;
  to: Date;
  overridden: boolean;
}

/** Longest shift per unit: a year. Anything longer is a typo, not a rotation. */
const MAX_SHIFT_LENGTH: Readonly<Record<ShiftUnit, number>> = { hours: 8760, days: 365, weeks: 52 };

/** A window with more rotation shifts than this is a caller's mistake, not a calendar view. */
const MAX_SHIFTS_PER_WINDOW = 10_000;

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const YYYY_MM_DD = /^\d{4}-\d{2}-\d{2}$/;

/** Human-readable problems with a rotation, [] if it is fine. */
export function validateRotation(r: Rotation): string[] {
  const problems: string[] = [];
  if (r.userIds.length === 0) problems.push('the rotation needs at least one user');
  r.userIds.forEach((id, i) => {
    if (id.trim() === '') problems.push(`userIds[${i}] is blank`);
  });
  if (!Object.hasOwn(MAX_SHIFT_LENGTH, r.shiftUnit)) {
    problems.push(`shiftUnit must be "hours", "days" or "weeks", not "${String(r.shiftUnit)}"`);
  } else {
    const max = MAX_SHIFT_LENGTH[r.shiftUnit];
    if (!Number.isInteger(r.shiftLength) || r.shiftLength < 1 || r.shiftLength > max) {
      problems.push(`shiftLength must be a whole number of ${r.shiftUnit} from 1 to ${max}, not ${r.shiftLength}`);
    }
  }
  if (!HH_MM.test(r.handoffTime)) {
    problems.push(`handoffTime must be "HH:MM" on a 24-hour clock, e.g. "09:00", not "${r.handoffTime}"`);
  }
  // IANAZone.create caches per name, isValidZone builds an Intl.DateTimeFormat per call.
  if (!IANAZone.create(r.timeZone).isValid) problems.push(`timeZone "${r.timeZone}" is not an IANA time zone`);
  if (!YYYY_MM_DD.test(r.startDate) || !DateTime.fromISO(r.startDate, { zone: 'utc' }).isValid) {
    problems.push(`startDate must be a calendar date "YYYY-MM-DD", not "${r.startDate}"`);
  }
  return problems;
}

/** Who is on call at `at`: the winning override's user, else the rotation's, else null (before it starts). */
export function onCallAt(rotation: Rotation, overrides: readonly Override[], at: Date): string | null {
  const ms = millis(at, 'at');
  const plan = compile(rotation);
  const override = winnerAt(prioritised(overrides), ms);
  if (override) return override.userId;
  const k = plan.indexAt(ms);
  return k < 0 ? null : plan.userOf(k);
}

/**
 * The shifts overlapping [from, to), clipped to it, in time order: rotation shifts
 * split around overrides, adjacent pieces of the same user with the same `overridden`
 * flag merged. Gaps appear only where nobody is on call (before the rotation starts).
 * Throws a RangeError when the window holds more than 10,000 rotation shifts.
 */
export function shiftsBetween(rotation: Rotation, overrides: readonly Override[], from: Date, to: Date): Shift[] {
  const lo = millis(from, 'from');
  const hi = millis(to, 'to');
  if (hi <= lo) return [];
  const plan = compile(rotation);
  const relevant = prioritised(overrides).filter((o) => o.from < hi && o.to > lo);

  const rotationPieces: Piece[] = [];
  let k = Math.max(plan.indexAt(lo), 0);
  for (let start = plan.handoff(k); start < hi; k += 1) {
    if (rotationPieces.length >= MAX_SHIFTS_PER_WINDOW) {
      throw new RangeError(`the window holds more than ${MAX_SHIFTS_PER_WINDOW} shifts; ask for a shorter one`);
    }
    const end = plan.handoff(k + 1);
    rotationPieces.push({ userId: plan.userOf(k), from: Math.max(start, lo), to: Math.min(end, hi) });
    start = end;
  }

  // Every edge of a rotation piece or an override splits the window; within one of the
  // resulting segments the winner cannot change, so deciding at its start suffices.
  const edges = new Set<number>([lo, hi]);
  for (const p of rotationPieces) edges.add(p.from).add(p.to);
  for (const o of relevant) edges.add(Math.max(o.from, lo)).add(Math.min(o.to, hi));
  const cuts = [...edges].sort((a, b) => a - b);

  const shifts: Shift[] = [];
  let next = 0; // rotation pieces are in order, and so are the segments
  for (let i = 0; i + 1 < cuts.length; i += 1) {
    const a = cuts[i] as number;
    const b = cuts[i + 1] as number;
    while (next < rotationPieces.length && (rotationPieces[next] as Piece).to <= a) next += 1;
    const override = winnerAt(relevant, a);
    const piece = rotationPieces[next];
    const owner = override ? { userId: override.userId, overridden: true } : piece && piece.from <= a ? { userId: piece.userId, overridden: false } : null;
    if (!owner) continue;
    const last = shifts.at(-1);
    if (last && last.to.getTime() === a && last.userId === owner.userId && last.overridden === owner.overridden) {
      last.to = new Date(b);
    } else {
      shifts.push({ userId: owner.userId, from: new Date(a), to: new Date(b), overridden: owner.overridden });
    }
  }
  return shifts;
}

interface Piece {
  userId: string;
  from: number;
  to: number;
}

interface RankedOverride extends Piece {
  index: number;
}

/** A rotation reduced to two questions: when does shift k start, and which shift holds an instant. */
interface Plan {
  /** Start of shift k (k may be negative: the extrapolated, never-worked shifts before the start). */
  handoff(k: number): number;
  /** The shift holding `ms`, or -1 before the first hand-off. */
  indexAt(ms: number): number;
  userOf(k: number): string;
}

function compile(rotation: Rotation): Plan {
  const problems = validateRotation(rotation);
  if (problems.length > 0) throw new RangeError(`invalid rotation: ${problems.join('; ')}`);
  const zone = IANAZone.create(rotation.timeZone);
  const [hour, minute] = rotation.handoffTime.split(':').map(Number) as [number, number];
  const startDay = Date.parse(`${rotation.startDate}T00:00:00Z`) / DAY_MS;
  const userOf = (k: number): string => rotation.userIds[k % rotation.userIds.length] as string;

  if (rotation.shiftUnit === 'hours') {
    const first = wallClockInstant(zone, startDay, hour, minute);
    const period = rotation.shiftLength * HOUR_MS;
    return {
      handoff: (k) => first + k * period,
      indexAt: (ms) => Math.max(Math.floor((ms - first) / period), -1),
      userOf,
    };
  }

  const periodDays = rotation.shiftLength * (rotation.shiftUnit === 'weeks' ? 7 : 1);
  // Calendar arithmetic on local dates alone, as day numbers (days since 1970-01-01 on
  // the zone's calendar, which has no DST), then the wall-clock time is placed in the zone.
  const handoff = (k: number): number => wallClockInstant(zone, startDay + k * periodDays, hour, minute);
  return {
    handoff,
    indexAt(ms) {
      const days = Math.floor((ms + zone.offset(ms) * MINUTE_MS) / DAY_MS) - startDay;
      // The local date fixes the shift up to the hand-off time on a hand-off day:
      // at most one step either way.
      let k = Math.max(Math.floor(days / periodDays), -1);
      while (k >= 0 && handoff(k) > ms) k -= 1;
      while (handoff(k + 1) <= ms) k += 1;
      return k;
    },
    userOf,
  };
}

/**
 * The instant at which the zone's clocks show local day number `day` at hour:minute.
 * An ambiguous time (fall back) resolves to its first occurrence; a time in a gap
 * (spring forward) to the first instant after the gap.
 */
function wallClockInstant(zone: IANAZone, day: number, hour: number, minute: number): number {
  const asIfUtc = day * DAY_MS + hour * HOUR_MS + minute * MINUTE_MS;
  // The offsets in force a day either side bracket any transition near this time.
  const early = zone.offset(asIfUtc - DAY_MS);
  const late = zone.offset(asIfUtc + DAY_MS);
  const showsIt = (offset: number) => zone.offset(asIfUtc - offset * MINUTE_MS) === offset;
  const fits = (early === late ? [early] : [early, late]).filter(showsIt);
  if (fits.length > 0) return asIfUtc - Math.max(...fits) * MINUTE_MS; // the larger offset is the earlier instant

  // In a gap: the clocks jumped over this time somewhere in (lo, hi]. Find the
  // transition, the first instant that no longer shows the earlier offset.
  let lo = asIfUtc - Math.max(early, late) * MINUTE_MS;
  let hi = asIfUtc - Math.min(early, late) * MINUTE_MS;
  const before = zone.offset(lo);
  if (zone.offset(hi) === before) return lo; // two transitions within a day: in no tz database today
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zone.offset(mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Valid, non-empty overrides in rising priority: later start wins, then later position. */
function prioritised(overrides: readonly Override[]): RankedOverride[] {
  return overrides
    .map((o, index) => ({
      userId: o.userId,
      from: millis(o.from, `overrides[${index}].from`),
      to: millis(o.to, `overrides[${index}].to`),
      index,
    }))
    .filter((o) => o.to > o.from)
    .sort((a, b) => a.from - b.from || a.index - b.index);
}

function winnerAt(ranked: readonly RankedOverride[], ms: number): RankedOverride | undefined {
  return ranked.findLast((o) => o.from <= ms && ms < o.to);
}

function millis(d: Date, what: string): number {
  const ms = d.getTime();
  if (Number.isNaN(ms)) throw new RangeError(`${what} is an invalid date`);
  return ms;
}

/** A stored schedule, as its commands answer it. */
export interface Schedule {
  id: string;
  name: string;
  /** null: organisation-wide. */
  teamId: string | null;
  rotation: Rotation;
  createdAt: Date;
  updatedAt: Date;
}

/** A stored override. */
export interface OverrideRecord extends Override {
  id: string;
  scheduleId: string;
  createdAt: Date;
}

/** What a page or an on-call answer shows of a person. */
export interface UserSummary {
  id: string;
  name: string;
  email: string;
  phone: string | null;
}
