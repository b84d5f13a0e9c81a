/**
 * /schedules: rotations with overrides. Create, list, read, replace (PUT), delete
 * (409 while a policy pages it); overrides; who is on call at a time; the shifts in
 * a window. A team's token works on its team's schedules only; another team's answer
 * 404, their overrides and on-call included.
 */
import { Router } from '@koa/router';
import type { CommandDeps } from '../../commands/deps.ts';
import {
  type OverrideRecord,
  type Schedule,
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
  usersByIds,
} from '../../commands/schedules.ts';
import { principalOf } from '../access.ts';
import { encodeKeyCursor } from '../cursor.ts';
import { pathId } from '../ids.ts';
import { instant } from '../instants.ts';
import { validationProblem } from '../problem.ts';
import { ISO_INSTANT, UUID_PATTERN } from '../schemas.ts';
import { canonicalTimeZone } from '../schemas/people.ts';
import { pageRequest } from '../records.ts';
import { compileBody, compileQuery, validBody, validQuery } from '../validate.ts';


export const scheduleBody = {
  $id: 'scheduleBody',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'rotation'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
    // Creating: absent, the caller's team (organisation-wide for an organisation-wide
    // caller). Replacing: absent or the schedule's team, which never changes.
    team_id: { type: 'string', pattern: UUID_PATTERN, nullable: true },
    rotation: {
      type: 'object',
      additionalProperties: false,
      required: ['user_ids', 'shift_length', 'shift_unit', 'handoff_time', 'time_zone', 'start_date'],
      properties: {
        user_ids: { type: 'array', minItems: 1, maxItems: 200, items: { type: 'string', pattern: UUID_PATTERN } },
        shift_length: { type: 'integer', minimum: 1, maximum: 8760 },
        shift_unit: { enum: ['hours', 'days', 'weeks'] },
        handoff_time: { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' },
        time_zone: { type: 'string', minLength: 1, maxLength: 64 },
        start_date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
      },
    },
  },
} as const;

interface ScheduleBody {
  name: string;
  team_id?: string | null;
  rotation: {
    user_ids: string[];
    shift_length: number;
    shift_unit: 'hours' | 'days' | 'weeks';
    handoff_time: string;
    time_zone: string;
    start_date: string;
  };
}

export const overrideBody = {
  $id: 'overrideBody',
  type: 'object',
  additionalProperties: false,
  required: ['user_id', 'start', 'end'],
  properties: {
    user_id: { type: 'string', pattern: UUID_PATTERN },
    start: { type: 'string', pattern: ISO_INSTANT },
    end: { type: 'string', pattern: ISO_INSTANT },
  },
} as const;

const validateScheduleBody = compileBody<ScheduleBody>(scheduleBody);
const validateOverrideBody = compileBody<{ user_id: string; start: string; end: string }>(overrideBody);
export const atQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { at: { type: 'string', pattern: ISO_INSTANT } },
} as const;
export const windowQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: { from: { type: 'string', pattern: ISO_INSTANT }, to: { type: 'string', pattern: ISO_INSTANT } },
} as const;
export const windowOptionalQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { from: { type: 'string', pattern: ISO_INSTANT }, to: { type: 'string', pattern: ISO_INSTANT } },
} as const;
const validateAtQuery = compileQuery<{ at?: string }>(atQuery);
const validateWindowQuery = compileQuery<{ from: string; to: string }>(windowQuery);
const validateWindowOptionalQuery = compileQuery<{ from?: string; to?: string }>(windowOptionalQuery);

function toInput(body: ScheduleBody): ScheduleInput {
  const r = body.rotation;
  const timeZone = canonicalTimeZone(r.time_zone);
  if (!timeZone) {
    throw validationProblem('body', [{ field: 'rotation.time_zone', rule: 'timeZone', message: 'is not an IANA time zone' }]);
  }
  return {
    name: body.name,
    teamId: body.team_id === undefined ? undefined : (body.team_id?.toLowerCase() ?? null),
    rotation: {
      userIds: r.user_ids.map((id) => id.toLowerCase()),
      shiftLength: r.shift_length,
      shiftUnit: r.shift_unit,
      handoffTime: r.handoff_time,
      timeZone,
      startDate: r.start_date,
    },
  };
}

function presentSchedule(schedule: Schedule) {
  const r = schedule.rotation;
  return {
    id: schedule.id,
    name: schedule.name,
    team_id: schedule.teamId,
    rotation: {
      user_ids: r.userIds,
      shift_length: r.shiftLength,
      shift_unit: r.shiftUnit,
      handoff_time: r.handoffTime,
      time_zone: r.timeZone,
      start_date: r.startDate,
    },
    created_at: schedule.createdAt.toISOString(),
    updated_at: schedule.updatedAt.toISOString(),
  };
}

function presentOverride(override: OverrideRecord) {
  return {
    id: override.id,
    schedule_id: override.scheduleId,
    user_id: override.userId,
    start: override.from.toISOString(),
    end: override.to.toISOString(),
    created_at: override.createdAt.toISOString(),
  };
}

export function scheduleRoutes(deps: CommandDeps): Router {
  const router = new Router({ prefix: '/schedules' });

  router.post('/', async (ctx) => {
    const schedule = await createSchedule(deps, principalOf(ctx), toInput(validBody(ctx, validateScheduleBody)));
    ctx.status = 201;
    ctx.set('Location', `/schedules/${schedule.id}`);
    ctx.body = presentSchedule(schedule);
  });

  router.get('/', async (ctx) => {
    const page = await listSchedules(deps.pool, principalOf(ctx), pageRequest(ctx));
    ctx.body = { items: page.items.map(presentSchedule), next_cursor: page.next ? encodeKeyCursor(page.next) : null };
  });

  router.get('/:id', async (ctx) => {
    ctx.body = presentSchedule(await getSchedule(deps.pool, principalOf(ctx), pathId(ctx, 'id')));
  });

  router.put('/:id', async (ctx) => {
    const id = pathId(ctx, 'id');
    ctx.body = presentSchedule(await replaceSchedule(deps, principalOf(ctx), id, toInput(validBody(ctx, validateScheduleBody))));
  });

  router.delete('/:id', async (ctx) => {
    await deleteSchedule(deps, principalOf(ctx), pathId(ctx, 'id'));
    ctx.status = 204;
  });

  router.get('/:id/on-call', async (ctx) => {
    const id = pathId(ctx, 'id');
    const query = validQuery(ctx, validateAtQuery);
    const at = query.at ? instant(query.at, 'at', 'query') : deps.clock.now();
    const user = await onCallOf(deps.pool, principalOf(ctx), id, at);
    ctx.body = { schedule_id: id, at: at.toISOString(), user: user ? { id: user.id, name: user.name, email: user.email } : null };
  });

  router.get('/:id/shifts', async (ctx) => {
    const id = pathId(ctx, 'id');
    const query = validQuery(ctx, validateWindowQuery);
    const from = instant(query.from, 'from', 'query');
    const to = instant(query.to, 'to', 'query');
    if (to.getTime() <= from.getTime()) {
      throw validationProblem('query', [{ field: 'to', rule: 'range', message: 'must be after from' }]);
    }
    const shifts = await shiftsOf(deps.pool, principalOf(ctx), id, from, to);
    const users = await usersByIds(deps.pool, shifts.map((s) => s.userId));
    ctx.body = {
      schedule_id: id,
      from: from.toISOString(),
      to: to.toISOString(),
      items: shifts.map((shift) => ({
        user: { id: shift.userId, name: users.get(shift.userId)?.name ?? null },
        start: shift.from.toISOString(),
        end: shift.to.toISOString(),
        overridden: shift.overridden,
      })),
    };
  });

  router.post('/:id/overrides', async (ctx) => {
    const id = pathId(ctx, 'id');
    const body = validBody(ctx, validateOverrideBody);
    const override = await addOverride(deps, principalOf(ctx), id, {
      userId: body.user_id.toLowerCase(),
      from: instant(body.start, 'start', 'body'),
      to: instant(body.end, 'end', 'body'),
    });
    ctx.status = 201;
    ctx.body = presentOverride(override);
  });

  router.get('/:id/overrides', async (ctx) => {
    const id = pathId(ctx, 'id');
    const query = validQuery(ctx, validateWindowOptionalQuery);
    const from = query.from ? instant(query.from, 'from', 'query') : deps.clock.now();
    const to = query.to ? instant(query.to, 'to', 'query') : new Date('9999-12-31T00:00:00Z');
    ctx.body = { schedule_id: id, items: (await overridesOf(deps.pool, principalOf(ctx), id, from, to)).map(presentOverride) };
  });

  router.delete('/:id/overrides/:overrideId', async (ctx) => {
    await removeOverride(deps, principalOf(ctx), pathId(ctx, 'id'), pathId(ctx, 'overrideId'));
    ctx.status = 204;
  });

  return router;
}
