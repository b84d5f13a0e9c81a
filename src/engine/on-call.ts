/**
 * Who is on call, read for the system rather than for a caller: no team scope, since
 * the engine acts for every team. Commands that answer a caller check visibility first
 * and then use these (src/commands/schedules.ts).
 */
import { onCallAt } from '../domain/schedule.ts';
import type { OverrideRecord, Schedule, UserSummary } from '../domain/schedule.ts';
import { type OverrideRow, type ScheduleRow, toOverride, toSchedule } from '../db/rows.ts';
import { type Queryable, run, sql } from '../db/queries.ts';

/** Schedules by id, in the order asked (missing ones left out). */
export async function loadSchedules(db: Queryable, ids: string[]): Promise<Schedule[]> {
  if (ids.length === 0) return [];
  const rows = await run<ScheduleRow>(db, sql('schedules-by-ids'), [ids]);
  const byId = new Map(rows.map((row) => [row.id, toSchedule(row)]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

export async function overridesBetween(db: Queryable, scheduleIds: string[], from: Date, to: Date): Promise<OverrideRecord[]> {
  if (scheduleIds.length === 0) return [];
  return (await run<OverrideRow>(db, sql('schedule-overrides-between'), [scheduleIds, from, to])).map(toOverride);
}

export async function usersByIds(db: Queryable, ids: string[]): Promise<Map<string, UserSummary>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await run<UserSummary>(db, sql('targets-users'), [unique]);
  return new Map(rows.map((row) => [row.id, row]));
}

/** Who is on call for each schedule at `at` (null: nobody). */
export async function onCallFor(db: Queryable, scheduleIds: string[], at: Date): Promise<Map<string, string | null>> {
  const schedules = await loadSchedules(db, scheduleIds);
  const overrides = await overridesBetween(db, scheduleIds, at, new Date(at.getTime() + 1));
  return new Map(
    schedules.map((schedule) => [
      schedule.id,
      onCallAt(
        schedule.rotation,
        overrides.filter((o) => o.scheduleId === schedule.id),
        at,
      ),
    ]),
  );
}
