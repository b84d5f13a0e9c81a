/**
 * JSON schemas of everything the API accepts. Compiled once by ./validate.ts; the
 * same objects will feed the OpenAPI document. Unknown fields are refused so a typo
 * (`"severty"`) is an error, not a silently ignored field.
 */
import { SEVERITIES } from '../domain/incident.ts';
import { UUID_PATTERN } from '../domain/ids.ts';
import { INCIDENT_STATES } from '../domain/incident-states.ts';

/** Ids in bodies: a UUID, in any case. */
export { UUID_PATTERN };

/** Instants in requests: ISO 8601 with an offset (src/api/instants.ts checks the calendar). */
export const ISO_INSTANT = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,6})?)?(Z|[+-]\\d{2}:\\d{2})$';

const actor = { type: 'string', minLength: 1, maxLength: 200 } as const;
const note = { type: 'string', maxLength: 2000 } as const;

export const createIncidentBody = {
  $id: 'createIncidentBody',
  type: 'object',
  additionalProperties: false,
  required: ['title'],
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 500, pattern: '\\S' },
    description: { type: 'string', maxLength: 10000 },
    severity: { enum: SEVERITIES },
    escalate: { type: 'boolean' },
    service_id: { type: 'string', pattern: UUID_PATTERN },
    // Without a service: the owning team (absent: the caller's team). With one: its team.
    team_id: { type: 'string', pattern: UUID_PATTERN, nullable: true },
    actor,
    note,
  },
} as const;

export const transitionBody = {
  $id: 'transitionBody',
  type: 'object',
  additionalProperties: false,
  properties: {
    actor,
    note,
    expected_version: { type: 'integer', minimum: 1, maximum: 2147483647 },
  },
} as const;

export const escalateBody = {
  $id: 'escalateBody',
  type: 'object',
  additionalProperties: false,
  properties: {
    ...transitionBody.properties,
    /** The current_escalation_level the caller saw; required when the incident is already ESCALATING. */
    from_level: { type: 'integer', minimum: 0, maximum: 1000 },
  },
} as const;

export const reassignBody = {
  $id: 'reassignBody',
  type: 'object',
  additionalProperties: false,
  properties: {
    ...transitionBody.properties,
    user_id: { type: 'string', pattern: UUID_PATTERN },
    level: { type: 'integer', minimum: 1, maximum: 20 },
  },
} as const;

export const snoozeBody = {
  $id: 'snoozeBody',
  type: 'object',
  additionalProperties: false,
  required: ['duration'],
  properties: {
    ...transitionBody.properties,
    duration: { type: 'string', pattern: '^[0-9]+(s|m|h)$' },
  },
} as const;

export interface EscalateBody extends TransitionBody {
  from_level?: number;
}

export interface ReassignBody extends TransitionBody {
  user_id?: string;
  level?: number;
}

export interface SnoozeBody extends TransitionBody {
  duration: string;
}

export const listIncidentsQuery = {
  $id: 'listIncidentsQuery',
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { enum: INCIDENT_STATES },
    limit: { type: 'integer', minimum: 1, maximum: 200 },
    cursor: { type: 'string', minLength: 1, maxLength: 200 },
  },
} as const;

export interface CreateIncidentBody {
  title: string;
  description?: string;
  severity?: (typeof SEVERITIES)[number];
  escalate?: boolean;
  service_id?: string;
  team_id?: string | null;
  actor?: string;
  note?: string;
}

export interface TransitionBody {
  actor?: string;
  note?: string;
  expected_version?: number;
}

export interface ListIncidentsQuery {
  state?: (typeof INCIDENT_STATES)[number];
  limit?: number;
  cursor?: string;
}
