/**
 * On-call schedules: a rotation plus overrides, stored in Postgres and computed by
 * the pure functions of src/domain/schedule.ts. Reading "who is on call" loads the
 * rotation and the overrides that touch the window, nothing more.
 */
import type pg from 'pg';
import { InUseError, InvalidInputError, NotFoundError } from '../domain/errors.ts';
import { type Override, type Rotation, type Shift, type ShiftUnit, onCallAt, shiftsBetween, validateRotation } from '../domain/schedule.ts';
import { type Queryable, run, sql } from '../db/queries.ts';
import { inTransaction } from '../db/transaction.ts';
import type { CommandDeps } from './deps.ts';
import { type NamePage, type NamePageQuery, assertExist, pageByName } from './records.ts';

export interface Schedule {
  id: string;
  name: string;
  rotation: Rotation;
  createdAt: Date;
  updatedAt: Date;
}

export interface ScheduleInput {
  name: string;
  rotation: Rotation;
}

export interface OverrideRecord extends Override {
  id: string;
  scheduleId: string;
  createdAt: Date;
}

interface ScheduleRow {
  id: string;
  name: string;
  time_zone: string;
  shift_length: number;
  shift_unit: ShiftUnit;
  handoff_time: string;
  start_date: string;
  user_ids: string[];
  created_at: Date;
  updated_at: Date;
}

interface OverrideRow {
  id: string;
  schedule_id: string;
  user_id: string;
  starts_at: Date;
  ends_at: Date;
  created_at: Date;
}

export interface UserSummary {
  id: string;
  name: string;
  email: string;
  phone: string | null;
}

function toSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    name: row.name,
    rotation: {
      userIds: row.user_ids,
      shiftLength: row.shift_length,
      shiftUnit: row.shift_unit,
      handoffTime: row.handoff_time,
      timeZone: row.time_zone,
      startDate: row.start_date,
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toOverride(row: OverrideRow): OverrideRecord {
  return { id: row.id, scheduleId: row.schedule_id, userId: row.user_id, from: row.starts_at, to: row.ends_at, createdAt: row.created_at };
}

/** Schedules by id, in the order asked (missing ones left out). */
export async function loadSchedules(db: Queryable, ids: string[]): Promise<Schedule[]> {
  if (ids.length === 0) return [];
  const rows = await run<ScheduleRow>(db, sql('schedules-by-ids'), [ids]);
  const byId = new Map(rows.map((row) => [row.id, toSchedule(row)]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

export async function listSchedules(db: Queryable, page: NamePageQuery): Promise<NamePage<Schedule>> {
  return pageByName<{ id: string; sort_key: string }, Schedule>(db, sql('schedules-list'), page, (rows) =>
    loadSchedules(db, rows.map((row) => row.id)),
  );
}

export async function getSchedule(db: Queryable, id: string): Promise<Schedule> {
  const [schedule] = await loadSchedules(db, [id]);
  if (!schedule) throw new NotFoundError('schedule', id);
  return schedule;
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
      onCallAt(schedule.rotation, overrides.filter((o) => o.scheduleId === schedule.id), at),
    ]),
  );
}

export async function shiftsOf(db: Queryable, id: string, from: Date, to: Date): Promise<Shift[]> {
  const schedule = await getSchedule(db, id);
  const overrides = await overridesBetween(db, [id], from, to);
  try {
    return shiftsBetween(schedule.rotation, overrides, from, to);
  } catch (error) {
    if (error instanceof RangeError) {
      throw new InvalidInputError([{ field: 'to', rule: 'range', message: error.message }], 'query');
    }
    throw error;
  }
}

export async function createSchedule(deps: CommandDeps, input: ScheduleInput): Promise<Schedule> {
  checkRotation(input.rotation);
  return inTransaction(deps.pool, async (client) => {
    await assertUsersExist(client, input.rotation.userIds, 'rotation.user_ids');
    const r = input.rotation;
    const [row] = await run<{ id: string }>(client, sql('schedule-insert'), [
      input.name, r.timeZone, r.shiftLength, r.shiftUnit, r.handoffTime, r.startDate, deps.clock.now(),
    ]);
    if (!row) throw new Error('INSERT ... RETURNING returned no row');
    await run(client, sql('schedule-members-insert'), [row.id, r.userIds]);
    return getSchedule(client, row.id);
  });
}

export async function replaceSchedule(deps: CommandDeps, id: string, input: ScheduleInput): Promise<Schedule> {
  checkRotation(input.rotation);
  return inTransaction(deps.pool, async (client) => {
    const r = input.rotation;
    await assertUsersExist(client, r.userIds, 'rotation.user_ids');
    const [row] = await run<{ id: string }>(client, sql('schedule-update'), [
      id, input.name, r.timeZone, r.shiftLength, r.shiftUnit, r.handoffTime, r.startDate, deps.clock.now(),
    ]);
    if (!row) throw new NotFoundError('schedule', id);
    await run(client, sql('schedule-members-delete'), [id]);
    await run(client, sql('schedule-members-insert'), [id, r.userIds]);
    return getSchedule(client, id);
  });
}

export async function deleteSchedule(deps: CommandDeps, id: string): Promise<void> {
  await inTransaction(deps.pool, async (client) => {
    await getSchedule(client, id);
    const usedBy = await run<{ kind: string; id: string; name: string }>(client, sql('schedule-usage'), [id]);
    if (usedBy.length > 0) throw new InUseError('schedule', usedBy);
    await run(client, sql('schedule-delete'), [id]);
  });
}

export async function addOverride(
  deps: CommandDeps,
  scheduleId: string,
  input: { userId: string; from: Date; to: Date },
): Promise<OverrideRecord> {
  if (input.to.getTime() <= input.from.getTime()) {
    throw new InvalidInputError([{ field: 'end', rule: 'range', message: 'must be after start' }]);
  }
  return inTransaction(deps.pool, async (client) => {
    await getSchedule(client, scheduleId);
    await assertUsersExist(client, [input.userId], 'user_id');
    const [row] = await run<OverrideRow>(client, sql('schedule-override-insert'), [scheduleId, input.userId, input.from, input.to, deps.clock.now()]);
    if (!row) throw new Error('INSERT ... RETURNING returned no row');
    return toOverride(row);
  });
}

export async function removeOverride(deps: CommandDeps, scheduleId: string, overrideId: string): Promise<void> {
  const [row] = await run(deps.pool, sql('schedule-override-delete'), [scheduleId, overrideId]);
  if (!row) throw new NotFoundError('override', overrideId);
}

function checkRotation(rotation: Rotation): void {
  const problems = validateRotation(rotation);
  // Postgres dates have no year 0, and a rotation from before 1900 is a typo.
  const year = Number(rotation.startDate.slice(0, 4));
  if (year < 1900 || year > 9999) problems.push('start_date must be between 1900-01-01 and 9999-12-31');
  if (problems.length > 0) {
    throw new InvalidInputError(problems.map((message) => ({ field: 'rotation', rule: 'rotation', message })));
  }
}

/** The users exist (and stay, until the transaction ends: users-existing locks them). */
async function assertUsersExist(client: pg.PoolClient, ids: readonly string[], field: string): Promise<void> {
  await assertExist(client, sql('users-existing'), 'user', [...new Set(ids)].map((id) => ({ field, id })));
}
