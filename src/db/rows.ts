/** Row shapes as pg returns them, and their mapping to domain objects. */
import type { EventKind, IncidentEvent } from '../domain/events.ts';
import type { AlertAction, AlertOutcome, AlertSource } from '../domain/alerts/event.ts';
import type { Scope } from '../domain/scopes.ts';
import type { ApiToken } from '../domain/tokens.ts';
import type { IntegrationKey } from '../domain/integration-keys.ts';
import type { Assignee, Escalation, EscalationStatus, EscalationTrigger, Incident, Severity } from '../domain/incident.ts';
import type { IncidentState } from '../domain/incident-states.ts';
import type { ChannelKind, NotificationType } from '../domain/notifications.ts';
import { snapshotFromJson } from '../domain/policy.ts';
import type { OverrideRecord, Schedule, ShiftUnit } from '../domain/schedule.ts';

export interface IncidentRow {
  id: string;
  title: string;
  description: string | null;
  severity: Severity;
  state: IncidentState;
  current_escalation_level: number;
  created_at: Date;
  updated_at: Date;
  acknowledged_at: Date | null;
  resolved_at: Date | null;
  cancelled_at: Date | null;
  version: number;
  service_id: string | null;
  team_id: string | null;
  policy_id: string | null;
  policy_version: number | null;
  policy_snapshot: unknown;
  cycle_base: number;
  assignees: Assignee[];
  snoozed_until: Date | null;
  /** Alert intake's (issue 12); absent from a query that lists its columns without them. */
  dedup_key?: string | null;
  alert_storm?: boolean;
  alert_count?: number;
  alert_last_seen_at?: Date | null;
}

export interface EscalationRow {
  id: string;
  incident_id: string;
  escalation_level: number;
  repeat_cycle: number;
  status: EscalationStatus;
  trigger: EscalationTrigger;
  scheduled_at: Date;
  executed_at: Date | null;
  cancelled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface EventRow {
  id: string;
  incident_id: string;
  kind: string;
  from_state: IncidentState | null;
  to_state: IncidentState | null;
  actor: string | null;
  note: string | null;
  occurred_at: Date;
  details: Record<string, unknown>;
}

export function toIncident(row: IncidentRow): Incident {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    severity: row.severity,
    state: row.state,
    currentEscalationLevel: row.current_escalation_level,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    acknowledgedAt: row.acknowledged_at,
    resolvedAt: row.resolved_at,
    cancelledAt: row.cancelled_at,
    version: row.version,
    serviceId: row.service_id,
    teamId: row.team_id,
    policy: row.policy_snapshot ? snapshotFromJson(row.policy_snapshot) : null,
    assignees: row.assignees,
    snoozedUntil: row.snoozed_until,
    alert:
      row.dedup_key != null || row.alert_storm === true
        ? { dedupKey: row.dedup_key ?? null, storm: row.alert_storm === true, count: row.alert_count ?? 0, lastSeenAt: row.alert_last_seen_at ?? null }
        : null,
  };
}

export function toEscalation(row: EscalationRow): Escalation {
  return {
    id: row.id,
    incidentId: row.incident_id,
    level: row.escalation_level,
    repeatCycle: row.repeat_cycle,
    status: row.status,
    trigger: row.trigger,
    scheduledAt: row.scheduled_at,
    executedAt: row.executed_at,
    cancelledAt: row.cancelled_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toEvent(row: EventRow): IncidentEvent {
  return {
    id: row.id,
    incidentId: row.incident_id,
    // Only appendEvents writes events, and it takes only the catalogue's kinds.
    kind: row.kind as EventKind,
    fromState: row.from_state,
    toState: row.to_state,
    actor: row.actor,
    note: row.note,
    occurredAt: row.occurred_at,
    details: row.details,
  };
}

export interface TokenRow {
  id: string;
  public_id: string;
  secret_hash: Buffer;
  name: string;
  scopes: Scope[];
  team_id: string | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  created_by: string | null;
  created_via: string;
  created_at: Date;
  last_used_at: Date | null;
}

/** An integration_keys row; team_id (its service's team) where the query joins it. */
export interface IntegrationKeyRow {
  id: string;
  service_id: string;
  name: string;
  key_hash: Buffer;
  key_hint: string;
  rate_per_minute: number | null;
  rate_burst: number | null;
  signing_secret: string | null;
  created_by: string;
  created_at: Date;
  revoked_by: string | null;
  revoked_at: Date | null;
  team_id?: string | null;
}

/** Never the hash, never the signing secret: only whether there is one. */
export function toIntegrationKey(row: IntegrationKeyRow): IntegrationKey {
  return {
    id: row.id,
    serviceId: row.service_id,
    name: row.name,
    hint: row.key_hint,
    ratePerMinute: row.rate_per_minute,
    rateBurst: row.rate_burst,
    signed: row.signing_secret !== null,
    createdBy: row.created_by,
    createdAt: row.created_at,
    revokedBy: row.revoked_by,
    revokedAt: row.revoked_at,
  };
}

/** What integration-key-resolve returns: a live key, as intake needs it. */
export interface ResolvedIntegrationKeyRow {
  id: string;
  service_id: string;
  team_id: string | null;
  name: string;
  key_hint: string;
  rate_per_minute: number | null;
  rate_burst: number | null;
  signing_secret: string | null;
}

export function toApiToken(row: TokenRow): ApiToken {
  return {
    id: row.id,
    publicId: row.public_id,
    name: row.name,
    scopes: row.scopes,
    teamId: row.team_id,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    createdBy: row.created_by,
    createdVia: row.created_via,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

export interface ScheduleRow {
  id: string;
  name: string;
  team_id: string | null;
  time_zone: string;
  shift_length: number;
  shift_unit: ShiftUnit;
  handoff_time: string;
  start_date: string;
  user_ids: string[];
  created_at: Date;
  updated_at: Date;
}

export interface OverrideRow {
  id: string;
  schedule_id: string;
  user_id: string;
  starts_at: Date;
  ends_at: Date;
  created_at: Date;
}

export function toSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    name: row.name,
    teamId: row.team_id,
    rotation: {
      userIds: row.user_ids,
      shiftLength: row.shift_length,
      shiftUnit: row.shift_unit,
      handoffTime: row.handoff_time,
      timeZone: row.time_zone,
      startDate: row.start_date,
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toOverride(row: OverrideRow): OverrideRecord {
  return { id: row.id, scheduleId: row.schedule_id, userId: row.user_id, from: row.starts_at, to: row.ends_at, createdAt: row.created_at };
}

/**
 * A notification with what its message needs: the outbox row's columns, the person's
 * name and the incident's title, severity, state and service. The notifier's claim
 * (notifications-claim.sql) and a call's TwiML (notification-for-call.sql) both read
 * it, and src/notify/messages.ts renders it.
 */
export interface NotificationMessageRow {
  id: string;
  idempotency_key: string;
  type: NotificationType;
  incident_id: string | null;
  escalation_id: string | null;
  level: number | null;
  user_id: string;
  contact_method_id: string;
  channel: ChannelKind;
  destination: string;
  reason: string | null;
  due_at: Date;
  attempts: number;
  claim: number;
  reply_code: string | null;
  payload: Record<string, unknown>;
  committed_at: Date | null;
  created_at: Date;
  user_name: string;
  incident_title: string | null;
  incident_severity: Severity | null;
  incident_state: IncidentState | null;
  service_name: string | null;
}

/** One line of the alert log (issue 12). */
export interface AlertLogRow {
  id: string;
  received_at: Date;
  integration_key_id: string;
  service_id: string;
  source: AlertSource;
  action: AlertAction | null;
  dedup_key: string | null;
  incident_id: string | null;
  outcome: AlertOutcome;
  reason: string | null;
  payload: unknown;
  parsed: unknown;
  request_id: string | null;
}
