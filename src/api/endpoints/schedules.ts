/**
 * /schedules: rotations with overrides. Create, list, read, replace (PUT), delete
 * (409 while a policy pages it); overrides; who is on call at a time; the shifts in
 * a window. A team's token works on its team's schedules only; another team's answer
 * 404, their overrides and on-call included.
 */
import {
  type ScheduleInput,
  addOverride,
  createSchedule,
  deleteSchedule,
  getSchedule,
  listSchedules,
  onCallOf,
  overridesOf,
  removeOverride,
  replaceSchedule,
  shiftsOf,
} from '../../commands/schedules.ts';
import {
  OnCallView,
  OverrideView,
  OverridesView,
  ScheduleView,
  ShiftsView,
  presentOnCall,
  presentOverride,
  presentSchedule,
  presentShifts,
} from '../../presenters/schedules.ts';
import { toInstant } from '../../schema/formats.ts';
import { Formatted, Instant, Page, type Static, StringEnum, Type, Uuid } from '../../schema/types.ts';
import { type Endpoint, endpoint } from '../endpoint.ts';
import { validationProblem } from '../problem.ts';
import { Name, TeamId } from './fields.ts';
import { PageQuery, namePage, presentNamePage } from './pages.ts';

const TAG = 'schedules';
/** The end of an open window of overrides: the last instant the API accepts. */
const END_OF_TIME = new Date('9999-12-31T23:59:59.999Z');

const ScheduleBody = Type.Object(
  {
    name: Name(),
    team_id: Type.Optional(TeamId()),
    rotation: Type.Object(
      {
        user_ids: Type.Array(Uuid(), { minItems: 1, maxItems: 200, description: 'In rotation order; a user may appear more than once' }),
        shift_length: Type.Integer({ minimum: 1, maximum: 8760 }),
        shift_unit: StringEnum(['hours', 'days', 'weeks']),
        handoff_time: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'Local wall-clock time of the hand-off' }),
        time_zone: Formatted('time-zone', { minLength: 1, maxLength: 64 }),
        start_date: Formatted('date', { description: 'The first shift starts on this day at handoff_time' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, title: 'ScheduleBody' },
);

const OverrideBody = Type.Object({ user_id: Uuid(), start: Instant(), end: Instant() }, { additionalProperties: false, title: 'OverrideBody' });

const AtQuery = Type.Object({ at: Type.Optional(Instant({ description: 'Default: now' })) }, { additionalProperties: false });
const WindowQuery = Type.Object({ from: Instant(), to: Instant() }, { additionalProperties: false });
const OpenWindowQuery = Type.Object(
  { from: Type.Optional(Instant({ description: 'Default: now' })), to: Type.Optional(Instant({ description: 'Default: no end' })) },
  { additionalProperties: false },
);

function toInput(body: Static<typeof ScheduleBody>): ScheduleInput {
  const r = body.rotation;
  return {
    name: body.name,
    teamId: body.team_id,
    rotation: {
      userIds: r.user_ids,
      shiftLength: r.shift_length,
      shiftUnit: r.shift_unit,
      handoffTime: r.handoff_time,
      timeZone: r.time_zone,
      startDate: r.start_date,
    },
  };
}

/** `from` before `to`, or a 400 naming `to`. */
function window(from: Date, to: Date): { from: Date; to: Date } {
  if (to.getTime() <= from.getTime()) throw validationProblem('query', [{ field: 'to', rule: 'range', message: 'must be after from' }]);
  return { from, to };
}

export const scheduleEndpoints: readonly Endpoint[] = [
  endpoint({
    method: 'POST',
    path: '/schedules',
    tag: TAG,
    summary: 'Create an on-call schedule',
    scope: 'write',
    body: ScheduleBody,
    response: { status: 201, schema: ScheduleView },
    problems: [409, 422],
    handler: async ({ body, principal, ctx }, deps) => {
      const schedule = await createSchedule(deps, principal, toInput(body));
      ctx.set('Location', `/schedules/${schedule.id}`);
      return presentSchedule(schedule);
    },
  }),
  endpoint({
    method: 'GET',
    path: '/schedules',
    tag: TAG,
    summary: 'List schedules by name',
    scope: 'read',
    query: PageQuery,
    response: { status: 200, schema: Page(ScheduleView) },
    handler: async ({ query, principal }, deps) => presentNamePage(await listSchedules(deps.pool, principal, namePage(query)), presentSchedule),
  }),
  endpoint({
    method: 'GET',
    path: '/schedules/:id',
    tag: TAG,
    summary: 'Read a schedule',
    scope: 'read',
    response: { status: 200, schema: ScheduleView },
    handler: async ({ params, principal }, deps) => presentSchedule(await getSchedule(deps.pool, principal, params.id)),
  }),
  endpoint({
    method: 'PUT',
    path: '/schedules/:id',
    tag: TAG,
    summary: 'Replace a schedule',
    scope: 'write',
    body: ScheduleBody,
    response: { status: 200, schema: ScheduleView },
    problems: [409, 422],
    handler: async ({ params, body, principal }, deps) => presentSchedule(await replaceSchedule(deps, principal, params.id, toInput(body))),
  }),
  endpoint({
    method: 'DELETE',
    path: '/schedules/:id',
    tag: TAG,
    summary: 'Delete a schedule (409 in_use while a policy pages it)',
    scope: 'write',
    response: { status: 204 },
    problems: [409],
    handler: async ({ params, principal }, deps) => {
      await deleteSchedule(deps, principal, params.id);
    },
  }),
  endpoint({
    method: 'GET',
    path: '/schedules/:id/on-call',
    tag: TAG,
    summary: 'Who is on call at `at` (default: now)',
    scope: 'read',
    query: AtQuery,
    response: { status: 200, schema: OnCallView },
    handler: async ({ params, query, principal }, deps) => {
      const at = query.at ? toInstant(query.at) : deps.clock.now();
      return presentOnCall(params.id, at, await onCallOf(deps.pool, principal, params.id, at));
    },
  }),
  endpoint({
    method: 'GET',
    path: '/schedules/:id/shifts',
    tag: TAG,
    summary: 'The shifts between `from` and `to`, overrides applied',
    scope: 'read',
    query: WindowQuery,
    response: { status: 200, schema: ShiftsView },
    handler: async ({ params, query, principal }, deps) => {
      const { from, to } = window(toInstant(query.from), toInstant(query.to));
      const { shifts, users } = await shiftsOf(deps.pool, principal, params.id, from, to);
      return presentShifts(params.id, { from, to }, shifts, users);
    },
  }),
  endpoint({
    method: 'POST',
    path: '/schedules/:id/overrides',
    tag: TAG,
    summary: 'Add an override: `user_id` covers `start`..`end`',
    scope: 'write',
    body: OverrideBody,
    response: { status: 201, schema: OverrideView },
    problems: [409, 422],
    handler: async ({ params, body, principal }, deps) =>
      presentOverride(await addOverride(deps, principal, params.id, { userId: body.user_id, from: toInstant(body.start), to: toInstant(body.end) })),
  }),
  endpoint({
    method: 'GET',
    path: '/schedules/:id/overrides',
    tag: TAG,
    summary: 'The overrides between `from` (default now) and `to`',
    scope: 'read',
    query: OpenWindowQuery,
    response: { status: 200, schema: OverridesView },
    handler: async ({ params, query, principal }, deps) => {
      const from = query.from ? toInstant(query.from) : deps.clock.now();
      const to = query.to ? toInstant(query.to) : END_OF_TIME;
      return { schedule_id: params.id, items: (await overridesOf(deps.pool, principal, params.id, from, to)).map(presentOverride) };
    },
  }),
  endpoint({
    method: 'DELETE',
    path: '/schedules/:id/overrides/:overrideId',
    tag: TAG,
    summary: 'Remove an override',
    scope: 'write',
    response: { status: 204 },
    handler: async ({ params, principal }, deps) => {
      await removeOverride(deps, principal, params.id, params.overrideId);
    },
  }),
];
