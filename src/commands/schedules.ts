/**
 * On-call schedules: a rotation plus overrides, stored in Postgres and computed by
 * the pure functions of src/domain/schedule.ts. Reading "who is on call" loads the
 * rotation and the overrides that touch the window, nothing more.
 *
 * A schedule belongs to a team (or to nobody: organisation-wide), fixed at creation;
 * a caller sees and changes only the schedules of a team it sees, and another team's
 * answers as a missing one, overrides and on-call included. Rotation members are
 * users, whom every team shares. The unscoped reads underneath, which the engine uses
 * too, are in src/engine/on-call.ts.
 */
import type pg from 'pg';
import { InUseError, InvalidInputError, NotFoundError } from '../domain/errors.ts';
import { type Rotation, type Shift, shiftsBetween, validateRotation } from '../domain/schedule.ts';
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
import { type OverrideRow, toOverride } from '../db/rows.ts';
import { loadSchedules, onCallFor, overridesBetween, usersByIds } from '../engine/on-call.ts';

export interface ScheduleInput {
  name: string;
  rotation: Rotation;
  /**
   * Creating: the owning team (absent: the caller's team, or organisation-wide for an
   * organisation-wide caller). Replacing: absent, or the schedule's own team.
   */
  teamId?: string | null | undefined;
}

export async function listSchedules(db: Queryable, scope: TeamScope, page: NamePageQuery): Promise<NamePage<Schedule>> {
  return pageByName<{ id: string; sort_key: string }, Schedule>(
    db,
    sql('schedules-list'),
    page,
    (rows) =>
      loadSchedules(
        db,
        rows.map((row) => row.id),
      ),
    [scope.teamId],
  );
}

/** A schedule of a team the caller sees; another team's answers as a missing one. */
export async function getSchedule(db: Queryable, scope: TeamScope, id: string): Promise<Schedule> {
  const [schedule] = await loadSchedules(db, [id]);
  if (!schedule || !canSee(scope, schedule.teamId)) throw new NotFoundError('schedule', id);
  return schedule;
}

/** Who is on call for a schedule the caller sees at `at` (null: nobody). */
export async function onCallOf(db: Queryable, scope: TeamScope, id: string, at: Date): Promise<UserSummary | null> {
  await getSchedule(db, scope, id);
  const userId = (await onCallFor(db, [id], at)).get(id) ?? null;
  return userId ? ((await usersByIds(db, [userId])).get(userId) ?? null) : null;
}

/** The shifts of a schedule the caller sees in [from, to), with the users who work them. */
export async function shiftsOf(
  db: Queryable,
  scope: TeamScope,
  id: string,
  from: Date,
  to: Date,
): Promise<{ shifts: Shift[]; users: Map<string, UserSummary> }> {
  const schedule = await getSchedule(db, scope, id);
  const overrides = await overridesBetween(db, [id], from, to);
  try {
    const shifts = shiftsBetween(schedule.rotation, overrides, from, to);
    return {
      shifts,
      users: await usersByIds(
        db,
        shifts.map((shift) => shift.userId),
      ),
    };
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
        input.name,
        r.timeZone,
        r.shiftLength,
        r.shiftUnit,
        r.handoffTime,
        r.startDate,
        deps.clock.now(),
        teamId,
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
      id,
      input.name,
      r.timeZone,
      r.shiftLength,
      r.shiftUnit,
      r.handoffTime,
      r.startDate,
      deps.clock.now(),
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
  await assertExist(
    client,
    sql('users-existing'),
    'user',
    [...new Set(ids)].map((id) => ({ field, id })),
  );
}
