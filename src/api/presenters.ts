/** Domain objects as the API shows them: snake_case, ISO timestamps, as in the SQL. */
import type { ApiToken } from '../commands/tokens.ts';
import type { Escalation, Incident, IncidentEvent } from '../domain/incident.ts';

const iso = (at: Date | null): string | null => (at ? at.toISOString() : null);

export function presentIncident(incident: Incident) {
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
    policy: incident.policy
      ? { id: incident.policy.policyId, name: incident.policy.name, version: incident.policy.version }
      : null,
    assignees: incident.assignees,
    snoozed_until: iso(incident.snoozedUntil),
  };
}

export function presentEscalation(escalation: Escalation) {
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

export function presentEvent(event: IncidentEvent) {
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

/** A token as the API shows it: never the secret, never its hash. */
export function presentToken(token: ApiToken) {
  return {
    id: token.id,
    public_id: token.publicId,
    name: token.name,
    scopes: token.scopes,
    team_id: token.teamId,
    expires_at: token.expiresAt?.toISOString() ?? null,
    revoked_at: token.revokedAt?.toISOString() ?? null,
    created_by: token.createdBy,
    created_via: token.createdVia,
    created_at: token.createdAt.toISOString(),
    last_used_at: token.lastUsedAt?.toISOString() ?? null,
  };
}
