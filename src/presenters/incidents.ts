/**
 * Incidents, their escalations and their events as the API (and the CLI's --json)
 * shows them: each view is the JSON schema of the answer, named in the OpenAPI
 * document by its title, and the presenter's return type is that schema's type.
 */
import { EVENT_KINDS, type IncidentEvent } from '../domain/events.ts';
import { SEVERITIES, type Escalation, type Incident } from '../domain/incident.ts';
import { INCIDENT_STATES } from '../domain/incident-states.ts';
import { TARGET_TYPES } from '../domain/policy.ts';
import { Instant, Nullable, type Static, StringEnum, Type, Uuid } from '../schema/types.ts';
import { NullableInstant, iso, timestamps } from './common.ts';

const State = () => StringEnum(INCIDENT_STATES);

export const IncidentView = Type.Object(
  {
    id: Uuid(),
    title: Type.String(),
    description: Nullable(Type.String()),
    severity: StringEnum(SEVERITIES),
    state: State(),
    current_escalation_level: Type.Integer({ description: 'The highest level paged so far (0: none)' }),
    version: Type.Integer({ description: 'Bumped by every change; send it back as expected_version' }),
    ...timestamps(),
    acknowledged_at: Nullable(Instant({ description: 'The latest acknowledgement (the first is in the events)' })),
    resolved_at: NullableInstant(),
    cancelled_at: NullableInstant(),
    service_id: Nullable(Uuid()),
    team_id: Nullable(Uuid({ description: 'null: organisation-wide' })),
    policy: Nullable(
      Type.Object(
        { id: Nullable(Uuid()), name: Type.String(), version: Type.Integer() },
        { description: 'The policy frozen when the incident started escalating (id null, version 0: the default policy); null while OPEN' },
      ),
    ),
    assignees: Type.Array(
      Type.Object({
        user_id: Uuid(),
        name: Type.String(),
        via: Type.Object({ type: StringEnum([...TARGET_TYPES, 'reassignment']), id: Nullable(Uuid()) }),
      }),
    ),
    snoozed_until: NullableInstant(),
    alert: Nullable(
      Type.Object(
        {
          dedup_key: Nullable(Type.String({ description: 'The key alerts are deduplicated by; null for the alert storm incident' })),
          storm: Type.Boolean({ description: "The service's alert storm incident, which the alerts past the storm threshold fold into" }),
          count: Type.Integer({ minimum: 0, description: 'Triggers received: the first, its repeats, or the alerts folded into the storm' }),
          last_seen_at: NullableInstant(),
        },
        { additionalProperties: false, description: 'Opened by an alert (GET /incidents/{id}/alerts lists them); null: opened by hand' },
      ),
    ),
  },
  { title: 'Incident' },
);

export function presentIncident(incident: Incident): Static<typeof IncidentView> {
  return {
    id: incident.id,
    title: incident.title,
    description: incident.description,
    severity: incident.severity,
    state: incident.state,
    current_escalation_level: incident.currentEscalationLevel,
    version: incident.version,
    created_at: iso(incident.createdAt),
    updated_at: iso(incident.updatedAt),
    acknowledged_at: iso(incident.acknowledgedAt),
    resolved_at: iso(incident.resolvedAt),
    cancelled_at: iso(incident.cancelledAt),
    service_id: incident.serviceId,
    team_id: incident.teamId,
    policy: incident.policy ? { id: incident.policy.policyId, name: incident.policy.name, version: incident.policy.version } : null,
    assignees: incident.assignees,
    snoozed_until: iso(incident.snoozedUntil),
    alert: incident.alert && {
      dedup_key: incident.alert.dedupKey,
      storm: incident.alert.storm,
      count: incident.alert.count,
      last_seen_at: iso(incident.alert.lastSeenAt),
    },
  };
}

export const EscalationView = Type.Object(
  {
    id: Uuid(),
    incident_id: Uuid(),
    level: Type.Integer(),
    repeat_cycle: Type.Integer(),
    status: StringEnum(['PENDING', 'EXECUTED', 'CANCELLED']),
    trigger: StringEnum(['timetable', 'snooze_end', 'manual']),
    scheduled_at: Instant(),
    executed_at: NullableInstant(),
    cancelled_at: NullableInstant(),
    ...timestamps(),
  },
  { title: 'Escalation' },
);

export function presentEscalation(escalation: Escalation): Static<typeof EscalationView> {
  return {
    id: escalation.id,
    incident_id: escalation.incidentId,
    level: escalation.level,
    repeat_cycle: escalation.repeatCycle,
    status: escalation.status,
    trigger: escalation.trigger,
    scheduled_at: iso(escalation.scheduledAt),
    executed_at: iso(escalation.executedAt),
    cancelled_at: iso(escalation.cancelledAt),
    created_at: iso(escalation.createdAt),
    updated_at: iso(escalation.updatedAt),
  };
}

export const EventView = Type.Object(
  {
    id: Type.String(),
    incident_id: Uuid(),
    kind: StringEnum(EVENT_KINDS, { description: 'What happened; the shape of `details` for each kind is in src/domain/events.ts' }),
    from_state: Nullable(State()),
    to_state: Nullable(State()),
    actor: Nullable(Type.String()),
    note: Nullable(Type.String()),
    occurred_at: Instant(),
    details: Type.Unsafe<Record<string, unknown>>({
      type: 'object',
      description: 'What the kind of event adds (the levels paged, the escalations cancelled, ...)',
    }),
  },
  { title: 'Event' },
);

export function presentEvent(event: IncidentEvent): Static<typeof EventView> {
  return {
    id: event.id,
    incident_id: event.incidentId,
    kind: event.kind,
    from_state: event.fromState,
    to_state: event.toState,
    actor: event.actor,
    note: event.note,
    occurred_at: iso(event.occurredAt),
    details: event.details,
  };
}

/** An incident's escalations or events: `{incident_id, items}`. */
export function IncidentItems<T extends typeof EscalationView | typeof EventView>(item: T) {
  return Type.Object({ incident_id: Uuid(), items: Type.Array(item) });
}
