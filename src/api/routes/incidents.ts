/**
 * /incidents: routes only validate, call a command, and present the result.
 */
import { Router } from '@koa/router';
import type Koa from 'koa';
import { type Principal, actorLabel } from '../../auth/principal.ts';
import { principalOf } from '../access.ts';
import { openIncident } from '../../commands/open-incident.ts';
import { getIncident, listEscalations, listEvents, listIncidents } from '../../commands/read-incidents.ts';
import { type TransitionTarget, transitionIncident } from '../../commands/transition-incident.ts';
import type { CommandDeps } from '../../commands/deps.ts';
import { IncidentState } from '../../domain/incident-states.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { presentEscalation, presentEvent, presentIncident } from '../presenters.ts';
import { escalateIncident, reassignIncident, snoozeIncident } from '../../commands/incident-actions.ts';
import { pathId } from '../ids.ts';
import { validationProblem } from '../problem.ts';
import type { TransitionBody } from '../schemas.ts';
import { validBody, validQuery, validators } from '../validate.ts';

const DEFAULT_PAGE_SIZE = 50;

const TRANSITIONS: Record<string, TransitionTarget> = {
  acknowledge: IncidentState.ACKNOWLEDGED,
  resolve: IncidentState.RESOLVED,
  cancel: IncidentState.CANCELLED,
};

/**
 * Who acts, as the incident's events record it: the `actor` the caller names (a
 * person behind a shared integration), else the token; always the token's id.
 */
function author(principal: Principal, actor: string | undefined) {
  return { actor: actor ?? actorLabel(principal), tokenId: principal.tokenId };
}

/** What every action on an incident takes: whose, who, why, and the version they saw. */
function actionInput(ctx: Koa.Context, incidentId: string, body: TransitionBody) {
  const principal = principalOf(ctx);
  return { incidentId, scope: principal, ...author(principal, body.actor), note: body.note, expectedVersion: body.expected_version };
}

export function incidentRoutes(deps: CommandDeps): Router {
  const router = new Router({ prefix: '/incidents' });

  router.post('/', async (ctx) => {
    const body = validBody(ctx, validators.createIncidentBody);
    const principal = principalOf(ctx);
    const incident = await openIncident(deps, principal, {
      ...author(principal, body.actor),
      teamId: body.team_id?.toLowerCase(),
      title: body.title,
      description: body.description,
      severity: body.severity ?? 'error',
      serviceId: body.service_id?.toLowerCase(),
      escalate: body.escalate,
      note: body.note,
    });
    ctx.status = 201;
    ctx.set('Location', `/incidents/${incident.id}`);
    ctx.body = presentIncident(incident);
  });

  router.get('/', async (ctx) => {
    const query = validQuery(ctx, validators.listIncidentsQuery);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const page = await listIncidents(deps.pool, principalOf(ctx), { state: query.state, limit: query.limit ?? DEFAULT_PAGE_SIZE, after });
    ctx.body = { items: page.items.map(presentIncident), next_cursor: page.next ? encodeCursor(page.next) : null };
  });

  // The seed's path for an incident's escalations, kept so existing clients work.
  router.get('/escalations/:incidentId', async (ctx) => {
    const id = pathId(ctx, 'incidentId');
    ctx.body = { incident_id: id, items: (await listEscalations(deps.pool, principalOf(ctx), id)).map(presentEscalation) };
  });

  router.get('/:id', async (ctx) => {
    const incident = await getIncident(deps.pool, principalOf(ctx), pathId(ctx, 'id'));
    ctx.body = presentIncident(incident);
  });

  router.get('/:id/escalations', async (ctx) => {
    const id = pathId(ctx, 'id');
    ctx.body = { incident_id: id, items: (await listEscalations(deps.pool, principalOf(ctx), id)).map(presentEscalation) };
  });

  router.get('/:id/events', async (ctx) => {
    const id = pathId(ctx, 'id');
    ctx.body = { incident_id: id, items: (await listEvents(deps.pool, principalOf(ctx), id)).map(presentEvent) };
  });

  for (const [action, to] of Object.entries(TRANSITIONS)) {
    router.post(`/:id/${action}`, async (ctx) => {
      const id = pathId(ctx, 'id');
      const body = validBody(ctx, validators.transitionBody, { optional: true });
      const incident = await transitionIncident(deps, { ...actionInput(ctx, id, body), to });
      ctx.body = presentIncident(incident);
    });
  }

  router.post('/:id/escalate', async (ctx) => {
    const id = pathId(ctx, 'id');
    const body = validBody(ctx, validators.escalateBody, { optional: true });
    const incident = await escalateIncident(deps, { ...actionInput(ctx, id, body), fromLevel: body.from_level });
    ctx.body = presentIncident(incident);
  });

  router.post('/:id/reassign', async (ctx) => {
    const id = pathId(ctx, 'id');
    const body = validBody(ctx, validators.reassignBody);
    if ((body.user_id === undefined) === (body.level === undefined)) {
      throw validationProblem('body', [{ field: 'user_id', rule: 'oneOf', message: 'give exactly one of user_id and level' }]);
    }
    const incident = await reassignIncident(deps, { ...actionInput(ctx, id, body), userId: body.user_id?.toLowerCase(), level: body.level });
    ctx.body = presentIncident(incident);
  });

  router.post('/:id/snooze', async (ctx) => {
    const id = pathId(ctx, 'id');
    const body = validBody(ctx, validators.snoozeBody);
    const incident = await snoozeIncident(deps, { ...actionInput(ctx, id, body), duration: body.duration });
    ctx.body = presentIncident(incident);
  });

  return router;
}
