/**
 * The OpenAPI 3.1 document of the API, served at GET /openapi.json (rendered at
 * GET /docs). Request bodies and query parameters are the very schema objects the
 * routes validate with (OpenAPI 3.1's dialect is JSON Schema 2020-12), so the document
 * cannot drift from what the API accepts; the response schemas are written here, from
 * the presenters. test/api/openapi.test.ts checks that every route is documented.
 */
import packageJson from '../../package.json' with { type: 'json' };
import { SEVERITIES } from '../domain/incident.ts';
import { INCIDENT_STATES } from '../domain/incident-states.ts';
import { TARGET_TYPES } from '../domain/policy.ts';
import { policyBody } from './routes/policies.ts';
import { atQuery, overrideBody, scheduleBody, windowOptionalQuery, windowQuery } from './routes/schedules.ts';
import * as schemas from './schemas.ts';
import { listByNameQuery, serviceBodies, teamBodies, userBodies } from './schemas/people.ts';
import { tokenBody } from './schemas/tokens.ts';
import { SCOPES } from '../auth/scopes.ts';
import { accessFor } from './access.ts';

type Schema = Record<string, unknown>;

/**
 * An ajv schema as OpenAPI 3.1 reads it: without `$id` (it would rebase every `$ref`
 * inside components), and with ajv's OpenAPI-3.0 `nullable: true` spelled the 2020-12
 * way (`type: [T, 'null']`), which 3.1 requires; nothing else changes.
 */
export function toOpenApiSchema(schema: object): Schema {
  const convert = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(convert);
    if (typeof value !== 'object' || value === null) return value;
    const out: Schema = {};
    for (const [key, inner] of Object.entries(value)) {
      if (key !== '$id' && key !== 'nullable') out[key] = convert(inner);
    }
    if ((value as Schema).nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
    return out;
  };
  return convert(schema) as Schema;
}

/** Request bodies, by their name under components.schemas. */
export const REQUEST_BODIES = {
  createIncidentBody: schemas.createIncidentBody,
  transitionBody: schemas.transitionBody,
  escalateBody: schemas.escalateBody,
  reassignBody: schemas.reassignBody,
  snoozeBody: schemas.snoozeBody,
  policyBody,
  scheduleBody,
  overrideBody,
  createUserBody: userBodies.create,
  editUserBody: userBodies.edit,
  createTeamBody: teamBodies.create,
  editTeamBody: teamBodies.edit,
  createServiceBody: serviceBodies.create,
  editServiceBody: serviceBodies.edit,
  createTokenBody: tokenBody,
} as const;
type BodyName = keyof typeof REQUEST_BODIES;

// Response schemas, from src/api/presenters*.ts and the routes' answers -----------------

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const uuid = { type: 'string', format: 'uuid' };
const nullableUuid = { type: ['string', 'null'], format: 'uuid' };
const instant = { type: 'string', format: 'date-time' };
const nullableInstant = { type: ['string', 'null'], format: 'date-time' };
const nullableString = { type: ['string', 'null'] };
const state = { enum: INCIDENT_STATES };

/** An object whose every listed property is always present. */
function shape(properties: Schema): Schema {
  return { type: 'object', required: Object.keys(properties), properties };
}

const timestamps = { created_at: instant, updated_at: instant };
const person = shape({ id: uuid, name: { type: 'string' }, email: { type: 'string' } });

const tokenFields = {
  id: uuid,
  public_id: { type: 'string', description: 'The part of the token after klx_ and before the secret; names it in logs' },
  name: { type: 'string' },
  scopes: { type: 'array', items: { enum: SCOPES } },
  team_id: { ...nullableUuid, description: 'null: organisation-wide' },
  expires_at: nullableInstant,
  revoked_at: nullableInstant,
  created_by: { ...nullableUuid, description: 'The token that created it; null from the CLI or the environment' },
  created_via: { type: 'string' },
  created_at: instant,
  last_used_at: { ...nullableInstant, description: 'Updated at most once a minute' },
};

const RESPONSE_SCHEMAS: Record<string, Schema> = {
  Incident: shape({
    id: uuid,
    title: { type: 'string' },
    description: nullableString,
    severity: { enum: SEVERITIES },
    state,
    current_escalation_level: { type: 'integer' },
    version: { type: 'integer' },
    ...timestamps,
    acknowledged_at: nullableInstant,
    resolved_at: nullableInstant,
    cancelled_at: nullableInstant,
    service_id: nullableUuid,
    policy: {
      description: 'The policy frozen when the incident started escalating (id null, version 0: the default policy)',
      oneOf: [{ type: 'null' }, shape({ id: nullableUuid, name: { type: 'string' }, version: { type: 'integer' } })],
    },
    assignees: {
      type: 'array',
      items: shape({
        user_id: uuid,
        name: { type: 'string' },
        via: shape({ type: { enum: [...TARGET_TYPES, 'reassignment'] }, id: nullableUuid }),
      }),
    },
    snoozed_until: nullableInstant,
  }),
  Escalation: shape({
    id: uuid,
    incident_id: uuid,
    level: { type: 'integer' },
    repeat_cycle: { type: 'integer' },
    status: { enum: ['PENDING', 'EXECUTED', 'CANCELLED'] },
    trigger: { enum: ['timetable', 'snooze_end', 'manual'] },
    scheduled_at: instant,
    executed_at: nullableInstant,
    cancelled_at: nullableInstant,
    ...timestamps,
  }),
  Event: shape({
    id: { type: 'string' },
    incident_id: uuid,
    kind: { type: 'string' },
    from_state: { oneOf: [{ type: 'null' }, state] },
    to_state: { oneOf: [{ type: 'null' }, state] },
    actor: nullableString,
    note: nullableString,
    occurred_at: instant,
    details: { type: 'object' },
  }),
  Policy: shape({
    id: uuid,
    name: { type: 'string' },
    description: nullableString,
    repeat_count: { type: 'integer' },
    version: { type: 'integer' },
    team_id: nullableUuid,
    levels: {
      type: 'array',
      items: shape({
        level: { type: 'integer' },
        delay: { type: 'string', examples: ['5m'] },
        delay_ms: { type: 'integer' },
        targets: { type: 'array', items: shape({ type: { enum: TARGET_TYPES }, id: uuid }) },
      }),
    },
    ...timestamps,
  }),
  Schedule: shape({
    id: uuid,
    name: { type: 'string' },
    team_id: nullableUuid,
    rotation: shape({
      user_ids: { type: 'array', items: uuid },
      shift_length: { type: 'integer' },
      shift_unit: { enum: ['hours', 'days', 'weeks'] },
      handoff_time: { type: 'string', examples: ['09:00'] },
      time_zone: { type: 'string' },
      start_date: { type: 'string', format: 'date' },
    }),
    ...timestamps,
  }),
  Override: shape({ id: uuid, schedule_id: uuid, user_id: uuid, start: instant, end: instant, created_at: instant }),
  User: shape({ id: uuid, name: { type: 'string' }, email: { type: 'string' }, phone: nullableString, time_zone: { type: 'string' }, ...timestamps }),
  Team: shape({ id: uuid, name: { type: 'string' }, members: { type: 'array', items: person }, ...timestamps }),
  Service: shape({ id: uuid, name: { type: 'string' }, description: nullableString, escalation_policy_id: nullableUuid, ...timestamps }),
  Token: shape(tokenFields),
  CreatedToken: {
    ...shape({ ...tokenFields, token: { type: 'string', description: 'The token itself: shown in this answer only, never again', examples: ['klx_3k9x0qz7m2ab_...'] } }),
  },
  /** RFC 9457, as docs/errors.md describes it; some codes add members of their own. */
  Problem: {
    type: 'object',
    required: ['type', 'title', 'status', 'detail', 'code'],
    properties: {
      type: { type: 'string', examples: ['urn:klaxon:problem:validation_failed'] },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      code: { type: 'string', description: 'Stable: match on this (see docs/errors.md)' },
      instance: { type: 'string', description: 'The request path' },
      request_id: { type: 'string', description: 'The X-Request-Id response header' },
      errors: {
        type: 'array',
        items: shape({ field: { type: 'string' }, rule: { type: 'string' }, message: { type: 'string' } }),
      },
    },
    additionalProperties: true,
  },
};

/** `{items, next_cursor}`: pass next_cursor back as `cursor`; null on the last page. */
function page(item: string): Schema {
  return shape({ items: { type: 'array', items: ref(item) }, next_cursor: nullableString });
}

const healthSchema = shape({ status: { const: 'ok' } });
const checks = shape({ postgres: { enum: ['up', 'down'] }, redis: { enum: ['up', 'down'] } });
const readySchema = shape({ status: { const: 'ready' }, checks });
const statsSchema = shape({
  at: instant,
  escalations: shape({ pending: { type: 'integer' }, overdue: { type: 'integer' }, oldest_overdue_age_ms: { type: ['integer', 'null'] } }),
  index: {
    description: 'null while Redis is down',
    oneOf: [{ type: 'null' }, shape({ pending: { type: 'integer' }, in_flight: { type: 'integer' }, complete: { type: 'boolean' } })],
  },
});
const incidentItems = (item: string) => shape({ incident_id: uuid, items: { type: 'array', items: ref(item) } });
const onCallSchema = shape({ schedule_id: uuid, at: instant, user: { oneOf: [{ type: 'null' }, person] } });
const shiftsSchema = shape({
  schedule_id: uuid,
  from: instant,
  to: instant,
  items: {
    type: 'array',
    items: shape({ user: shape({ id: uuid, name: nullableString }), start: instant, end: instant, overridden: { type: 'boolean' } }),
  },
});
const overridesSchema = shape({ schedule_id: uuid, items: { type: 'array', items: ref('Override') } });

// Operations -----------------------------------------------------------------------------

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

interface Operation {
  method: Method;
  /** As the router spells it: `/incidents/:id`. */
  path: string;
  tag: string;
  summary: string;
  body?: { name: BodyName; optional?: boolean };
  query?: { properties: object; required?: readonly string[] };
  /** The success status and its answer: a JSON schema, a text media type, or none (204). */
  success: { status: number; schema?: Schema; text?: 'text/html' | 'text/plain' };
  /** Problem statuses beyond those its parameters and body imply (400, 404, 413, 415). */
  problems?: number[];
  /** Touches no database (no 503 database_unavailable). */
  noDatabase?: true;
}

const ACTION = [409];
const WRITE = [409, 422];

const transitions = (['acknowledge', 'resolve', 'cancel'] as const).map(
  (action): Operation => ({
    method: 'post',
    path: `/incidents/:id/${action}`,
    tag: 'incidents',
    summary: `${action[0]?.toUpperCase()}${action.slice(1)} an incident (cancels its pending escalations)`,
    body: { name: 'transitionBody', optional: true },
    success: { status: 200, schema: ref('Incident') },
    problems: ACTION,
  }),
);

/** POST, GET list, GET, PATCH, DELETE of /users, /teams, /services (src/api/records.ts). */
function recordOperations(prefix: string, item: string, create: BodyName, edit: BodyName): Operation[] {
  const tag = prefix.slice(1);
  const noun = item.toLowerCase();
  return [
    { method: 'post', path: prefix, tag, summary: `Create a ${noun}`, body: { name: create }, success: { status: 201, schema: ref(item) }, problems: WRITE },
    { method: 'get', path: prefix, tag, summary: `List ${tag} by name`, query: listByNameQuery, success: { status: 200, schema: page(item) } },
    { method: 'get', path: `${prefix}/:id`, tag, summary: `Read a ${noun}`, success: { status: 200, schema: ref(item) } },
    { method: 'patch', path: `${prefix}/:id`, tag, summary: `Edit a ${noun} (the fields given)`, body: { name: edit }, success: { status: 200, schema: ref(item) }, problems: WRITE },
    { method: 'delete', path: `${prefix}/:id`, tag, summary: `Delete a ${noun} (409 in_use while referred to)`, success: { status: 204 }, problems: [409] },
  ];
}

export const OPERATIONS: readonly Operation[] = [
  { method: 'get', path: '/healthz', tag: 'health', summary: 'Liveness (no I/O)', success: { status: 200, schema: healthSchema }, noDatabase: true },
  { method: 'get', path: '/readyz', tag: 'health', summary: 'Readiness: Postgres and Redis answer (503 not_ready names what is down)', success: { status: 200, schema: readySchema }, problems: [503] },
  { method: 'get', path: '/stats', tag: 'health', summary: 'Pending and overdue escalations, and the Redis index', success: { status: 200, schema: statsSchema } },
  { method: 'get', path: '/openapi.json', tag: 'docs', summary: 'This OpenAPI document', success: { status: 200, schema: { type: 'object' } }, noDatabase: true },
  { method: 'get', path: '/docs', tag: 'docs', summary: 'This document as an HTML page', success: { status: 200, text: 'text/html' }, noDatabase: true },
  { method: 'get', path: '/metrics', tag: 'health', summary: "Prometheus metrics (text exposition format); answers without the escalation gauges when Postgres is down", success: { status: 200, text: 'text/plain' }, noDatabase: true },

  { method: 'post', path: '/incidents', tag: 'incidents', summary: 'Open an incident (and escalate it at once with `escalate: true`)', body: { name: 'createIncidentBody' }, success: { status: 201, schema: ref('Incident') }, problems: [422] },
  { method: 'get', path: '/incidents', tag: 'incidents', summary: 'List incidents, newest first', query: schemas.listIncidentsQuery, success: { status: 200, schema: page('Incident') } },
  { method: 'get', path: '/incidents/escalations/:incidentId', tag: 'incidents', summary: "An incident's escalations (the older path of /incidents/{id}/escalations)", success: { status: 200, schema: incidentItems('Escalation') } },
  { method: 'get', path: '/incidents/:id', tag: 'incidents', summary: 'Read an incident', success: { status: 200, schema: ref('Incident') } },
  { method: 'get', path: '/incidents/:id/escalations', tag: 'incidents', summary: "An incident's escalations, in firing order", success: { status: 200, schema: incidentItems('Escalation') } },
  { method: 'get', path: '/incidents/:id/events', tag: 'incidents', summary: "An incident's audit log, oldest first", success: { status: 200, schema: incidentItems('Event') } },
  ...transitions,
  { method: 'post', path: '/incidents/:id/escalate', tag: 'incidents', summary: 'Start escalating (OPEN), or page the next level now (ESCALATING, with from_level)', body: { name: 'escalateBody', optional: true }, success: { status: 200, schema: ref('Incident') }, problems: ACTION },
  { method: 'post', path: '/incidents/:id/reassign', tag: 'incidents', summary: 'Reassign to a user, or page a level now', body: { name: 'reassignBody' }, success: { status: 200, schema: ref('Incident') }, problems: WRITE },
  { method: 'post', path: '/incidents/:id/snooze', tag: 'incidents', summary: 'Snooze an acknowledged incident (1m-24h)', body: { name: 'snoozeBody' }, success: { status: 200, schema: ref('Incident') }, problems: ACTION },

  { method: 'post', path: '/escalation-policies', tag: 'escalation-policies', summary: 'Create an escalation policy', body: { name: 'policyBody' }, success: { status: 201, schema: ref('Policy') }, problems: WRITE },
  { method: 'get', path: '/escalation-policies', tag: 'escalation-policies', summary: 'List escalation policies by name', query: listByNameQuery, success: { status: 200, schema: page('Policy') } },
  { method: 'get', path: '/escalation-policies/:id', tag: 'escalation-policies', summary: 'Read an escalation policy', success: { status: 200, schema: ref('Policy') } },
  { method: 'put', path: '/escalation-policies/:id', tag: 'escalation-policies', summary: 'Replace an escalation policy (a new version)', body: { name: 'policyBody' }, success: { status: 200, schema: ref('Policy') }, problems: WRITE },
  { method: 'delete', path: '/escalation-policies/:id', tag: 'escalation-policies', summary: 'Delete an escalation policy (409 in_use while a service or live incident uses it)', success: { status: 204 }, problems: [409] },

  { method: 'post', path: '/schedules', tag: 'schedules', summary: 'Create an on-call schedule', body: { name: 'scheduleBody' }, success: { status: 201, schema: ref('Schedule') }, problems: WRITE },
  { method: 'get', path: '/schedules', tag: 'schedules', summary: 'List schedules by name', query: listByNameQuery, success: { status: 200, schema: page('Schedule') } },
  { method: 'get', path: '/schedules/:id', tag: 'schedules', summary: 'Read a schedule', success: { status: 200, schema: ref('Schedule') } },
  { method: 'put', path: '/schedules/:id', tag: 'schedules', summary: 'Replace a schedule', body: { name: 'scheduleBody' }, success: { status: 200, schema: ref('Schedule') }, problems: WRITE },
  { method: 'delete', path: '/schedules/:id', tag: 'schedules', summary: 'Delete a schedule (409 in_use while a policy pages it)', success: { status: 204 }, problems: [409] },
  { method: 'get', path: '/schedules/:id/on-call', tag: 'schedules', summary: 'Who is on call at `at` (default: now)', query: atQuery, success: { status: 200, schema: onCallSchema } },
  { method: 'get', path: '/schedules/:id/shifts', tag: 'schedules', summary: 'The shifts between `from` and `to`, overrides applied', query: windowQuery, success: { status: 200, schema: shiftsSchema } },
  { method: 'post', path: '/schedules/:id/overrides', tag: 'schedules', summary: 'Add an override: `user_id` covers `start`..`end`', body: { name: 'overrideBody' }, success: { status: 201, schema: ref('Override') }, problems: WRITE },
  { method: 'get', path: '/schedules/:id/overrides', tag: 'schedules', summary: 'The overrides between `from` (default now) and `to`', query: windowOptionalQuery, success: { status: 200, schema: overridesSchema } },
  { method: 'delete', path: '/schedules/:id/overrides/:overrideId', tag: 'schedules', summary: 'Remove an override', success: { status: 204 } },

  ...recordOperations('/users', 'User', 'createUserBody', 'editUserBody'),
  ...recordOperations('/teams', 'Team', 'createTeamBody', 'editTeamBody'),
  ...recordOperations('/services', 'Service', 'createServiceBody', 'editServiceBody'),

  { method: 'post', path: '/tokens', tag: 'tokens', summary: 'Create an API token (the answer holds the token, once)', body: { name: 'createTokenBody' }, success: { status: 201, schema: ref('CreatedToken') }, problems: [422] },
  { method: 'get', path: '/tokens', tag: 'tokens', summary: 'List API tokens by name (never their secrets)', query: listByNameQuery, success: { status: 200, schema: page('Token') } },
  { method: 'get', path: '/tokens/:id', tag: 'tokens', summary: 'Read an API token', success: { status: 200, schema: ref('Token') } },
  { method: 'delete', path: '/tokens/:id', tag: 'tokens', summary: 'Revoke an API token at once (it stays listed, with revoked_at)', success: { status: 204 } },
];

// The document ---------------------------------------------------------------------------

const PROBLEMS: Record<number, string> = {
  400: 'validation_failed (errors names each field and rule), invalid_json or invalid_body',
  401: 'unauthenticated (no token) or invalid_token (unknown, malformed, revoked or expired); WWW-Authenticate says which',
  403: 'insufficient_scope: the token lacks the scope the operation needs (required_scope)',
  404: 'not_found: no record with that id (or it belongs to another team)',
  409: 'A conflict: invalid_transition, version_conflict, level_conflict, escalation_exhausted, invalid_state, level_already_paged, already_exists or in_use',
  413: 'payload_too_large',
  414: 'uri_too_long: the path and query string are over 2,048 bytes',
  415: 'unsupported_media_type: send application/json',
  422: 'reference_not_found: the body names a record that does not exist (or another team\'s)',
  429: 'rate_limited: too many requests for this token; Retry-After says when to retry',
  500: 'internal_error: the details are in the log line with the same request_id',
  503: 'database_unavailable (Retry-After: 5), or not_ready from /readyz',
};

/** `/incidents/:id` -> `/incidents/{id}`. */
export function openApiPath(koaPath: string): string {
  return koaPath.replace(/:(\w+)/g, '{$1}');
}

function parameters(op: Operation): Schema[] {
  const inPath = [...op.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string', format: 'uuid' },
  }));
  const required = new Set(op.query?.required ?? []);
  const inQuery = Object.entries(op.query?.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema: toOpenApiSchema(schema as object),
  }));
  return [...inPath, ...inQuery];
}

function responses(op: Operation): Schema {
  const { status, schema, text } = op.success;
  const success = text
    ? { description: 'OK', content: { [text]: { schema: { type: 'string' } } } }
    : schema
      ? { description: 'OK', content: { 'application/json': { schema } } }
      : { description: 'No content' };
  const problems = new Set(op.problems);
  if (op.path.includes(':') || op.body || op.query) problems.add(400);
  if (op.path.includes(':')) problems.add(404);
  if (op.body) [413, 415].forEach((code) => problems.add(code));
  if (op.query) problems.add(414);
  if (!op.noDatabase) problems.add(503);
  if (accessFor(op.method, op.path) !== 'public') [401, 403, 429].forEach((code) => problems.add(code));
  problems.add(500);
  const answers: Schema = { [status]: success };
  for (const code of [...problems].sort((a, b) => a - b)) answers[code] = { $ref: `#/components/responses/Problem${code}` };
  return answers;
}

/** Who may call it (src/api/access.ts): no token, any token, or a token with a scope. */
function security(op: Operation): Schema {
  const access = accessFor(op.method, op.path);
  if (access === 'public') return { security: [] };
  return { security: [{ bearerToken: [] }], 'x-required-scope': access === 'any' ? null : access };
}

function operation(op: Operation): Schema {
  const params = parameters(op);
  return {
    tags: [op.tag],
    summary: op.summary,
    ...security(op),
    operationId: `${op.method}${openApiPath(op.path).replace(/[^A-Za-z0-9]+(\w?)/g, (_, c: string) => c.toUpperCase())}`,
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(op.body
      ? { requestBody: { required: !op.body.optional, content: { 'application/json': { schema: ref(op.body.name) } } } }
      : {}),
    responses: responses(op),
  };
}

export function buildOpenApiDocument(): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const op of OPERATIONS) (paths[openApiPath(op.path)] ??= {})[op.method] = operation(op);
  const bodies = Object.fromEntries(Object.entries(REQUEST_BODIES).map(([name, schema]) => [name, toOpenApiSchema(schema)]));
  const problemResponses = Object.fromEntries(
    Object.entries(PROBLEMS).map(([code, description]) => [
      `Problem${code}`,
      { description, content: { 'application/problem+json': { schema: ref('Problem') } } },
    ]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'klaxon',
      version: packageJson.version,
      description: packageJson.description,
    },
    tags: [...new Set(OPERATIONS.map((op) => op.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: { ...bodies, ...RESPONSE_SCHEMAS },
      responses: problemResponses,
      securitySchemes: {
        bearerToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token (klx_...). Scopes: read, write (implies read), admin (implies all), metrics. x-required-scope on each operation names the one it needs.',
        },
      },
    },
    security: [{ bearerToken: [] }],
  };
}
