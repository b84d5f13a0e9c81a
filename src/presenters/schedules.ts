/** Schedules, overrides, on-call answers and shifts as the API shows them (each view is the answer's schema). */
import type { OverrideRecord, Schedule, UserSummary } from '../domain/schedule.ts';
import type { Shift } from '../domain/schedule.ts';
import { Formatted, Instant, Nullable, type Static, StringEnum, Type, Uuid } from '../schema/types.ts';
import { iso, timestamps } from './common.ts';

export const ScheduleView = Type.Object(
  {
    id: Uuid(),
    name: Type.String(),
    team_id: Nullable(Uuid({ description: 'null: organisation-wide' })),
    rotation: Type.Object({
      user_ids: Type.Array(Uuid()),
      shift_length: Type.Integer(),
      shift_unit: StringEnum(['hours', 'days', 'weeks']),
      handoff_time: Type.String({ examples: ['09:00'] }),
      time_zone: Type.String(),
      start_date: Formatted('date'),
    }),
    ...timestamps(),
  },
  { title: 'Schedule' },
);

export function presentSchedule(schedule: Schedule): Static<typeof ScheduleView> {
  const r = schedule.rotation;
  return {
    id: schedule.id,
    name: schedule.name,
    team_id: schedule.teamId,
    rotation: {
      user_ids: [...r.userIds],
      shift_length: r.shiftLength,
      shift_unit: r.shiftUnit,
      handoff_time: r.handoffTime,
      time_zone: r.timeZone,
      start_date: r.startDate,
    },
    created_at: iso(schedule.createdAt),
    updated_at: iso(schedule.updatedAt),
  };
}

export const OverrideView = Type.Object(
  { id: Uuid(), schedule_id: Uuid(), user_id: Uuid(), start: Instant(), end: Instant(), created_at: Instant() },
  { title: 'Override' },
);

export function presentOverride(override: OverrideRecord): Static<typeof OverrideView> {
  return {
    id: override.id,
    schedule_id: override.scheduleId,
    user_id: override.userId,
    start: iso(override.from),
    end: iso(override.to),
    created_at: iso(override.createdAt),
  };
}

export const OverridesView = Type.Object({ schedule_id: Uuid(), items: Type.Array(OverrideView) });

const Person = Type.Object({ id: Uuid(), name: Type.String(), email: Type.String() });

export const OnCallView = Type.Object({ schedule_id: Uuid(), at: Instant(), user: Nullable(Person) });

export function presentOnCall(scheduleId: string, at: Date, user: UserSummary | null): Static<typeof OnCallView> {
  return { schedule_id: scheduleId, at: iso(at), user: user ? { id: user.id, name: user.name, email: user.email } : null };
}

export const ShiftsView = Type.Object({
  schedule_id: Uuid(),
  from: Instant(),
  to: Instant(),
  items: Type.Array(
    Type.Object({
      user: Type.Object({ id: Uuid(), name: Nullable(Type.String({ description: 'null: the user has been deleted since' })) }),
      start: Instant(),
      end: Instant(),
      overridden: Type.Boolean(),
    }),
  ),
});

export function presentShifts(
  scheduleId: string,
  window: { from: Date; to: Date },
  shifts: readonly Shift[],
  users: ReadonlyMap<string, UserSummary>,
): Static<typeof ShiftsView> {
  return {
    schedule_id: scheduleId,
    from: iso(window.from),
    to: iso(window.to),
    items: shifts.map((shift) => ({
      user: { id: shift.userId, name: users.get(shift.userId)?.name ?? null },
      start: iso(shift.from),
      end: iso(shift.to),
      overridden: shift.overridden,
    })),
  };
}
