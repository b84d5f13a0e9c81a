/**
 * /incidents: open, list, read; acknowledge, resolve, cancel, escalate, reassign,
 * snooze; an incident's escalations and events. Handlers only call a command and
 * present the result.
 */
import { type Principal, actorLabel } from '../../auth/principal.ts';
import { escalateIncident, reassignIncident, snoozeIncident } from '../../commands/incident-actions.ts';
import { openIncident } from '../../commands/open-incident.ts';
import { getIncident, listEscalations, listEvents, listIncidents } from '../../commands/read-incidents.ts';
import { type TransitionTarget, transitionIncident } from '../../commands/transition-incident.ts';
import { SEVERITIES } from '../../domain/incident.ts';
import { INCIDENT_STATES, IncidentState } from '../../domain/incident-states.ts';
import { EscalationView, EventView, IncidentItems, IncidentView, presentEscalation, presentEvent, presentIncident } from '../../presenters/incidents.ts';
import { Nullable, Page, type Static, StringEnum, Type, Uuid } from '../../schema/types.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import type { AppDeps } from '../deps.ts';
import { type Endpoint, endpoint } from '../endpoint.ts';
import { validationProblem } from '../problem.ts';
import { DEFAULT_PAGE_SIZE } from './pages.ts';

const TAG = 'incidents';

// Requests ----------------------------------------------------------------------------------

const actor = Type.String({ minLength: 1, maxLength: 200, description: 'Who acts (default: the token); a person behind a shared integration' });
const note = Type.String({ maxLength: 2000 });

const TransitionFields = {
  actor: Type.Optional(actor),
  note: Type.Optional(note),
  expected_version: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 2147483647, description: 'Refused with 409 version_conflict unless the incident is still at this version' }),
  ),
};

const CreateIncidentBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 500, pattern: '\\S' }),
    description: Type.Optional(Type.String({ maxLength: 10000 })),
    severity: Type.Optional(StringEnum(SEVERITIES, { description: 'default: error' })),
    escalate: Type.Optional(Type.Boolean({ description: 'Start escalating at once' })),
    service_id: Type.Optional(Uuid()),
    team_id: Type.Optional(
      Nullable(Uuid({ description: "Without a service: the owning team (absent: the caller's; null: organisation-wide). With one: its team" })),
    ),
    actor: Type.Optional(actor),
    note: Type.Optional(note),
  },
  { additionalProperties: false, title: 'CreateIncidentBody' },
);

const TransitionBody = Type.Object(TransitionFields, { additionalProperties: false, title: 'TransitionBody' });

const EscalateBody = Type.Object(
  {
    ...TransitionFields,
    from_level: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 1000, description: 'The current_escalation_level the caller saw; required when the incident is already ESCALATING' }),
    ),
  },
  { additionalProperties: false, title: 'EscalateBody' },
);

const ReassignBody = Type.Object(
  {
    ...TransitionFields,
    user_id: Type.Optional(Uuid({ description: 'Exactly one of user_id and level' })),
    level: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
  },
  { additionalProperties: false, title: 'ReassignBody' },
);

const SnoozeBody = Type.Object(
  { ...TransitionFields, duration: Type.String({ pattern: '^[0-9]+(s|m|h)$', description: '1m to 24h' }) },
  { additionalProperties: false, title: 'SnoozeBody' },
);

const ListIncidentsQuery = Type.Object(
  {
    state: Type.Optional(StringEnum(INCIDENT_STATES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'Items per page (default 50)' })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'next_cursor of the previous page' })),
  },
  { additionalProperties: false },
);

/**
 * Who acts, as the incident's events record it: the `actor` the caller names (a
 * person behind a shared integration), else the token; always the token's id.
 */
function author(principal: Principal, actor: string | undefined) {
  return { actor: actor ?? actorLabel(principal), tokenId: principal.tokenId };
}

/** What every action on an incident takes: whose, who, why, and the version they saw. */
function actionInput(principal: Principal, incidentId: string, body: Static<typeof TransitionBody>) {
  return { incidentId, scope: principal, ...author(principal, body.actor), note: body.note, expectedVersion: body.expected_version };
}

// Endpoints ---------------------------------------------------------------------------------

const TRANSITIONS: readonly [action: string, to: TransitionTarget][] = [
  ['acknowledge', IncidentState.ACKNOWLEDGED],
  ['resolve', IncidentState.RESOLVED],
  ['cancel', IncidentState.CANCELLED],
];

const transitions = TRANSITIONS.map(([action, to]) =>
  endpoint({
    method: 'POST',
    path: `/incidents/:id/${action}`,
    tag: TAG,
    summary: `${action[0]?.toUpperCase()}${action.slice(1)} an incident (cancels its pending escalations)`,
    scope: 'write',
    body: TransitionBody,
    bodyRequired: false,
    response: { status: 200, schema: IncidentView },
    problems: [409],
    handler: async ({ params, body, principal }, deps) => presentIncident(await transitionIncident(deps, { ...actionInput(principal, params.id, body), to })),
  }),
);

/** An incident's escalations, as both paths answer them. */
async function escalationsOf(deps: AppDeps, principal: Principal, incidentId: string) {
  return { incident_id: incidentId, items: (await listEscalations(deps.pool, principal, incidentId)).map(presentEscalation) };
}

export const incidentEndpoints: readonly Endpoint[] = [
  endpoint({
    method: 'POST',
    path: '/incidents',
    tag: TAG,
    summary: 'Open an incident (and escalate it at once with `escalate: true`)',
    scope: 'write',
    body: CreateIncidentBody,
    response: { status: 201, schema: IncidentView },
    problems: [422],
    handler: async ({ body, principal, ctx }, deps) => {
      const incident = await openIncident(deps, principal, {
        ...author(principal, body.actor),
        teamId: body.team_id,
        title: body.title,
        description: body.description,
        severity: body.severity ?? 'error',
        serviceId: body.service_id,
        escalate: body.escalate,
        note: body.note,
      });
      ctx.set('Location', `/incidents/${incident.id}`);
      return presentIncident(incident);
    },
  }),
  endpoint({
    method: 'GET',
    path: '/incidents',
    tag: TAG,
    summary: 'List incidents, newest first',
    scope: 'read',
    query: ListIncidentsQuery,
    response: { status: 200, schema: Page(IncidentView) },
    handler: async ({ query, principal }, deps) => {
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const page = await listIncidents(deps.pool, principal, { state: query.state, limit: query.limit ?? DEFAULT_PAGE_SIZE, after });
      return { items: page.items.map(presentIncident), next_cursor: page.next ? encodeCursor(page.next) : null };
    },
  }),
  // The seed's path for an incident's escalations, kept so existing clients work.
  endpoint({
    method: 'GET',
    path: '/incidents/escalations/:incidentId',
    tag: TAG,
    summary: "An incident's escalations (the older path of /incidents/{id}/escalations)",
    scope: 'read',
    response: { status: 200, schema: IncidentItems(EscalationView) },
    handler: ({ params, principal }, deps) => escalationsOf(deps, principal, params.incidentId),
  }),
  endpoint({
    method: 'GET',
    path: '/incidents/:id',
    tag: TAG,
    summary: 'Read an incident',
    scope: 'read',
    response: { status: 200, schema: IncidentView },
    handler: async ({ params, principal }, deps) => presentIncident(await getIncident(deps.pool, principal, params.id)),
  }),
  endpoint({
    method: 'GET',
    path: '/incidents/:id/escalations',
    tag: TAG,
    summary: "An incident's escalations, in the order things happened: each at its execution or cancellation, a pending one at its due time",
    scope: 'read',
    response: { status: 200, schema: IncidentItems(EscalationView) },
    handler: ({ params, principal }, deps) => escalationsOf(deps, principal, params.id),
  }),
  endpoint({
    method: 'GET',
    path: '/incidents/:id/events',
    tag: TAG,
    summary: "An incident's audit log, oldest first",
    scope: 'read',
    response: { status: 200, schema: IncidentItems(EventView) },
    handler: async ({ params, principal }, deps) => ({
      incident_id: params.id,
      items: (await listEvents(deps.pool, principal, params.id)).map(presentEvent),
    }),
  }),
  ...transitions,
  endpoint({
    method: 'POST',
    path: '/incidents/:id/escalate',
    tag: TAG,
    summary: 'Start escalating (OPEN), or page the next level now (ESCALATING, with from_level)',
    scope: 'write',
    body: EscalateBody,
    bodyRequired: false,
    response: { status: 200, schema: IncidentView },
    problems: [409],
    handler: async ({ params, body, principal }, deps) =>
      presentIncident(await escalateIncident(deps, { ...actionInput(principal, params.id, body), fromLevel: body.from_level })),
  }),
  endpoint({
    method: 'POST',
    path: '/incidents/:id/reassign',
    tag: TAG,
    summary: 'Reassign to a user, or page a level now',
    scope: 'write',
    body: ReassignBody,
    response: { status: 200, schema: IncidentView },
    problems: [409, 422],
    handler: async ({ params, body, principal }, deps) => {
      if ((body.user_id === undefined) === (body.level === undefined)) {
        throw validationProblem('body', [{ field: 'user_id', rule: 'oneOf', message: 'give exactly one of user_id and level' }]);
      }
      return presentIncident(await reassignIncident(deps, { ...actionInput(principal, params.id, body), userId: body.user_id, level: body.level }));
    },
  }),
  endpoint({
    method: 'POST',
    path: '/incidents/:id/snooze',
    tag: TAG,
    summary: 'Snooze an acknowledged incident (1m-24h)',
    scope: 'write',
    body: SnoozeBody,
    response: { status: 200, schema: IncidentView },
    problems: [409],
    handler: async ({ params, body, principal }, deps) =>
      presentIncident(await snoozeIncident(deps, { ...actionInput(principal, params.id, body), duration: body.duration })),
  }),
];
