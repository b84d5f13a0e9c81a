/**
 * On-call schedules: a rotation plus overrides, stored in Postgres and computed by
 * the pure functions of src/domain/schedule.ts. Reading "who is on call" loads the
 * rotation and the overrides that touch the window, nothing more.
 *
 * A schedule belongs to a team (or to nobody: organisation-wide), fixed at creation;
 * a caller sees and changes only the schedules of a team it sees, and another team's
 * answers as a missing one, overrides and on-call included. Rotation members are
 * users, whom every team shares. The helpers the worker uses (loadSchedules,
 * onCallFor, overridesBetween, usersByIds) are not scoped: the system acts for every
 * team.
 */
import type pg from 'pg';
import { InUseError, InvalidInputError, NotFoundError } from '../domain/errors.ts';
import { type Rotation, type Shift, type ShiftUnit, onCallAt, shiftsBetween, validateRotation } from '../domain/schedule.ts';
import { type TeamScope, canSee } from '../domain/team-scope.ts';
import { type Queryable, run, sql } from '../db/queries.ts';
import { inTransaction } from '../db/transaction.ts';
import type { CommandDeps } from './deps.ts';
import {
  type NamePage,
  type NamePageQuery,
  assertExist,
  assertTeamUnchanged,
  assertUnique,
  ownerTeam,
  pageByName,
  visibleOrNotFound,
  written,
} from './records.ts';
import type { OverrideRecord, Schedule, UserSummary } from '../domain/schedule.ts';


export interface ScheduleInput {
  name: string;
  rotation: Rotation;
  /**
   * Creating: the owning team (absent: the caller's team, or organisation-wide for an
   * organisation-wide caller). Replacing: absent, or the schedule's own team.
   */
  teamId?: string | null | undefined;
}


interface ScheduleRow {
  id: string;
  name: string;
  team_id: string | null;
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


function toSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    name: row.name,
    teamId: row.team_id,
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

export async function listSchedules(db: Queryable, scope: TeamScope, page: NamePageQuery): Promise<NamePage<Schedule>> {
  return pageByName<{ id: string; sort_key: string }, Schedule>(
    db,
    sql('schedules-list'),
    page,
    (rows) => loadSchedules(db, rows.map((row) => row.id)),
    [scope.teamId],
  );
}

/** A schedule of a team the caller sees; another team's answers as a missing one. */
export async function getSchedule(db: Queryable, scope: TeamScope, id: string): Promise<Schedule> {
  const [schedule] = await loadSchedules(db, [id]);
  if (!schedule || !canSee(scope, schedule.teamId)) throw new NotFoundError('schedule', id);
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

/** Who is on call for a schedule the caller sees at `at` (null: nobody). */
export async function onCallOf(db: Queryable, scope: TeamScope, id: string, at: Date): Promise<UserSummary | null> {
  await getSchedule(db, scope, id);
  const userId = (await onCallFor(db, [id], at)).get(id) ?? null;
  return userId ? ((await usersByIds(db, [userId])).get(userId) ?? null) : null;
}

export async function shiftsOf(db: Queryable, scope: TeamScope, id: string, from: Date, to: Date): Promise<Shift[]> {
  const schedule = await getSchedule(db, scope, id);
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

export async function createSchedule(deps: CommandDeps, scope: TeamScope, input: ScheduleInput): Promise<Schedule> {
  checkRotation(input.rotation);
  return inTransaction(deps.pool, async (client) => {
    const teamId = await ownerTeam(client, scope, input.teamId);
    await assertUnique(client, sql('schedules-name-taken'), 'schedule', 'name', input.name, null, [teamId]);
    await assertUsersExist(client, input.rotation.userIds, 'rotation.user_ids');
    const r = input.rotation;
    const row = written(
      await run<{ id: string }>(client, sql('schedule-insert'), [
        input.name, r.timeZone, r.shiftLength, r.shiftUnit, r.handoffTime, r.startDate, deps.clock.now(), teamId,
      ]),
    );
    await run(client, sql('schedule-members-insert'), [row.id, r.userIds]);
    return getSchedule(client, scope, row.id);
  });
}

export async function replaceSchedule(deps: CommandDeps, scope: TeamScope, id: string, input: ScheduleInput): Promise<Schedule> {
  checkRotation(input.rotation);
  return inTransaction(deps.pool, async (client) => {
    const locked = await visibleOrNotFound<{ id: string; team_id: string | null }>(client, sql('schedule-lock'), scope, 'schedule', id);
    assertTeamUnchanged(locked.team_id, input.teamId);
    await assertUnique(client, sql('schedules-name-taken'), 'schedule', 'name', input.name, id, [locked.team_id]);
    const r = input.rotation;
    await assertUsersExist(client, r.userIds, 'rotation.user_ids');
    const [row] = await run<{ id: string }>(client, sql('schedule-update'), [
      id, input.name, r.timeZone, r.shiftLength, r.shiftUnit, r.handoffTime, r.startDate, deps.clock.now(),
    ]);
    if (!row) throw new NotFoundError('schedule', id);
    await run(client, sql('schedule-members-delete'), [id]);
    await run(client, sql('schedule-members-insert'), [id, r.userIds]);
    return getSchedule(client, scope, id);
  });
}

export async function deleteSchedule(deps: CommandDeps, scope: TeamScope, id: string): Promise<void> {
  await inTransaction(deps.pool, async (client) => {
    await visibleOrNotFound<{ id: string; team_id: string | null }>(client, sql('schedule-lock'), scope, 'schedule', id);
    const usedBy = await run<{ kind: string; id: string; name: string }>(client, sql('schedule-usage'), [id]);
    if (usedBy.length > 0) throw new InUseError('schedule', usedBy);
    await run(client, sql('schedule-delete'), [id]);
  });
}

export async function addOverride(
  deps: CommandDeps,
  scope: TeamScope,
  scheduleId: string,
  input: { userId: string; from: Date; to: Date },
): Promise<OverrideRecord> {
  if (input.to.getTime() <= input.from.getTime()) {
    throw new InvalidInputError([{ field: 'end', rule: 'range', message: 'must be after start' }]);
  }
  return inTransaction(deps.pool, async (client) => {
    await getSchedule(client, scope, scheduleId);
    await assertUsersExist(client, [input.userId], 'user_id');
    const row = written(await run<OverrideRow>(client, sql('schedule-override-insert'), [scheduleId, input.userId, input.from, input.to, deps.clock.now()]));
    return toOverride(row);
  });
}

/** The overrides of a schedule the caller sees that overlap [from, to). */
export async function overridesOf(db: Queryable, scope: TeamScope, scheduleId: string, from: Date, to: Date): Promise<OverrideRecord[]> {
  await getSchedule(db, scope, scheduleId);
  return overridesBetween(db, [scheduleId], from, to);
}

export async function removeOverride(deps: CommandDeps, scope: TeamScope, scheduleId: string, overrideId: string): Promise<void> {
  // One transaction, like every change (the API's audit row joins it). A schedule's
  // team never changes, so checking it before the delete leaves no gap.
  await inTransaction(deps.pool, async (client) => {
    await getSchedule(client, scope, scheduleId);
    const [row] = await run(client, sql('schedule-override-delete'), [scheduleId, overrideId]);
    if (!row) throw new NotFoundError('override', overrideId);
  });
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
