/**
 * Opens an incident, and with `escalate: true` starts escalating it in the same
 * transaction, so an incident that must page can never be left OPEN by a crash
 * between two calls. The incident belongs to its service's team; without a service,
 * to the caller's team (an organisation-wide caller may name one, or none).
 *
 * The hot path of the API (issue 10: one process must open and escalate 800 a
 * second). What the change needs is read first (the service, the team named, the
 * service's policy: none of it for an incident opened with neither service nor team),
 * then the change is one statement, its own transaction: the incident already in the
 * state it leaves in, its policy frozen, level 1 scheduled, its events and the
 * request's audit row, committed together in one round trip, and with the other
 * openings that arrive meanwhile (src/db/group-commit.ts, incidents-open-batch.sql;
 * an alert's incident, whose key may conflict, goes alone: incident-open.sql). A
 * service, team or policy deleted between the reads and that statement fails its
 * foreign keys (a 422), as a concurrent deletion did inside the transaction before.
 */
import { randomUUID } from 'node:crypto';
import { ReferenceNotFoundError } from '../domain/errors.ts';
import { type TeamScope, canSee } from '../domain/team-scope.ts';
import { ownerTeam } from './records.ts';
import type { Incident, Severity } from '../domain/incident.ts';
import { IncidentState } from '../domain/incident-states.ts';
import type { AlertOrigin, NewEvent, TransitionDetails } from '../domain/events.ts';
import { type PolicySnapshot, snapshotToJson, timetableOf } from '../domain/policy.ts';
import { firstStep } from '../domain/timetable.ts';
import { type AuditEntry, auditRecords } from '../db/audit-log.ts';
import { GroupCommit, GroupCommits } from '../db/group-commit.ts';
import type { PendingIndex } from '../engine/index/pending.ts';
import { type Queryable, run, sql } from '../db/queries.ts';
import { type IncidentRow, toIncident } from '../db/rows.ts';
import { eventColumns, eventRecords } from '../db/events.ts';
import { type AlertLogEntry, alertLogColumns } from '../db/alert-log.ts';
import { commitStatement } from '../db/transaction.ts';
import type { CommandDeps } from './deps.ts';
import { EVENT_KIND_FOR, type EventAuthor, type ServiceToOpenOn, policyToFreeze, serviceToOpenOn } from './transition-incident.ts';

export interface OpenIncidentInput extends EventAuthor {
  title: string;
  /** Without a service: the owning team (absent: the caller's; see ownerTeam). */
  teamId?: string | null | undefined;
  description?: string | undefined;
  severity: Severity;
  serviceId?: string | undefined;
  escalate?: boolean | undefined;
  note?: string | undefined;
}

export async function openIncident(deps: CommandDeps, scope: TeamScope, input: OpenIncidentInput): Promise<Incident> {
  let teamId: string | null;
  let service: ServiceToOpenOn | null = null;
  if (input.serviceId) {
    service = await serviceToOpenOn(deps.pool, deps, input.serviceId);
    if (!service || !canSee(scope, service.teamId)) {
      throw new ReferenceNotFoundError([{ field: 'service_id', rule: 'exists', message: `no service with id ${input.serviceId}` }]);
    }
    if (input.teamId != null && input.teamId !== service.teamId) {
      throw new ReferenceNotFoundError([{ field: 'team_id', rule: 'service_team', message: "must be the service's team, or left out" }]);
    }
    teamId = service.teamId;
  } else {
    teamId = await ownerTeam(deps.pool, scope, input.teamId);
  }
  const policy = input.escalate ? policyToFreeze(deps, service) : undefined;

  const row = await openTogether(deps, {
    incidentId: randomUUID(),
    title: input.title,
    description: input.description ?? null,
    severity: input.severity,
    serviceId: input.serviceId ?? null,
    teamId,
    policy,
    now: deps.clock.now(),
    author: input,
    note: input.note,
  });
  if (!row) throw new Error('INSERT ... RETURNING returned no row');
  return toIncident(row);
}

/** An incident to open in one statement (incident-open.sql). */
export interface Opening {
  incidentId: string;
  title: string;
  description: string | null;
  severity: Severity;
  serviceId: string | null;
  teamId: string | null;
  /** The policy to start escalating on at once (frozen); none: it stays OPEN. */
  policy: PolicySnapshot | undefined;
  now: Date;
  author: EventAuthor;
  note?: string | undefined;
  /** Opened by an alert: its key (none for the storm incident), and its alert-log line, written in the same statement. */
  alert?: { dedupKey: string | null; storm: boolean; origin: AlertOrigin; log: AlertLogEntry } | undefined;
}

/**
 * Opens the incident (and starts escalating it when a policy is given) in one statement,
 * with the pending audit rows, then puts its first escalation in the Redis index. Null
 * when it is an alert's and the service already had that alert's incident (or its storm
 * incident) open: then nothing was written.
 */
export async function commitOpening(deps: CommandDeps, opening: Opening): Promise<IncidentRow | null> {
  const { values, firstEscalation } = openingColumns(opening);
  const alert = opening.alert;
  const [row] = await commitStatement<IncidentRow>(
    deps.pool,
    sql('incident-open'),
    [...values, alert?.dedupKey ?? null, alert?.storm ?? false, ...(alert ? alertLogColumns(alert.log) : NO_ALERT_LOG)],
    (rows) => rows.length > 0,
  );
  if (!row) return null;
  await deps.pendingIndex.applyAfterCommit({ add: firstEscalation ? [firstEscalation] : [], remove: [] });
  return row;
}

/**
 * The incident an opening writes as the first 25 parameters of incident-open.sql: the
 * incident, its policy, its first escalation when it escalates at once, and its events;
 * and that escalation, for the Redis index once it commits.
 */
function openingColumns(opening: Opening): { values: unknown[]; firstEscalation: { id: string; dueAt: Date } | undefined } {
  const { record: r, events, firstEscalation } = openingParts(opening);
  const snapshot = r.policy_snapshot === null ? null : JSON.stringify(r.policy_snapshot);
  const values = [r.id, r.title, r.description, r.severity, r.state, r.version, r.now, r.service_id, r.team_id, r.policy_id, r.policy_version];
  return { values: [...values, snapshot, r.escalation_id, r.level, r.repeat_cycle, r.due_at, ...eventColumns(events)], firstEscalation };
}

/**
 * An opening's incident and first escalation as incidents-open-batch.sql and
 * alert-triggers.sql take them: one JSON object each (jsonb_to_recordset), with these
 * names.
 */
export interface OpeningRecord {
  id: string;
  title: string;
  description: string | null;
  severity: Severity;
  state: IncidentState;
  /** 1: opened; 2: opened, then escalating. */
  version: number;
  /** Instants as ISO 8601 strings: JSON.stringify takes its slow path for every Date (src/domain/events.ts, escalated). */
  now: string;
  service_id: string | null;
  team_id: string | null;
  /** These three are null while OPEN. */
  policy_id: string | null;
  policy_version: number | null;
  policy_snapshot: unknown;
  /** The first escalation (null: none). */
  escalation_id: string | null;
  level: number | null;
  repeat_cycle: number | null;
  due_at: string | null;
}

/** An opening's incident and first escalation, its events, and that escalation (for the Redis index once it commits). */
export function openingParts(opening: Opening): { record: OpeningRecord; events: NewEvent[]; firstEscalation: { id: string; dueAt: Date } | undefined } {
  const { incidentId, now, policy, author } = opening;
  const events: NewEvent[] = [
    {
      incidentId,
      kind: 'opened',
      from: null,
      to: IncidentState.OPEN,
      details: { severity: opening.severity, service_id: opening.serviceId, ...(opening.alert ? { alert: opening.alert.origin } : {}) },
      occurredAt: now,
      actor: author.actor,
      note: opening.note,
      tokenId: author.tokenId,
    },
  ];
  // Starting to escalate, as applyTransition does it from OPEN: level 1 of cycle 0.
  const step = policy ? firstStep(timetableOf(policy), now) : undefined;
  const escalationId = step ? randomUUID() : null;
  if (step && escalationId) {
    const details: TransitionDetails = { scheduled: { escalation_id: escalationId, level: step.level, due_at: step.dueAt.toISOString() } };
    events.push({
      incidentId,
      kind: EVENT_KIND_FOR.ESCALATING,
      from: IncidentState.OPEN,
      to: IncidentState.ESCALATING,
      details,
      occurredAt: now,
      actor: author.actor,
      tokenId: author.tokenId,
    });
  }
  const record: OpeningRecord = {
    id: incidentId,
    title: opening.title,
    description: opening.description,
    severity: opening.severity,
    state: policy ? IncidentState.ESCALATING : IncidentState.OPEN,
    version: policy ? 2 : 1,
    now: now.toISOString(),
    service_id: opening.serviceId,
    team_id: opening.teamId,
    policy_id: policy ? policy.policyId : null,
    policy_version: policy ? policy.version : null,
    policy_snapshot: policy ? snapshotToJson(policy) : null,
    escalation_id: escalationId,
    level: step?.level ?? null,
    repeat_cycle: step?.repeatCycle ?? null,
    due_at: step ? step.dueAt.toISOString() : null,
  };
  return { record, events, firstEscalation: step && escalationId ? { id: escalationId, dueAt: step.dueAt } : undefined };
}

/**
 * Opens an incident that no alert opened, committed with whatever openings arrive with
 * it (src/db/group-commit.ts: one statement for them all, incidents-open-batch.sql),
 * then puts its first escalation in the Redis index.
 */
async function openTogether(deps: CommandDeps, opening: Opening): Promise<IncidentRow> {
  return openingGroups.of(deps.pool, deps.pendingIndex).submit(opening);
}

/** The group commits of openings, per pool and Redis index (each batch's first escalations go in with one update). */
const openingGroups = new GroupCommits<PendingIndex, Opening, IncidentRow>(
  (pool, index) => new GroupCommit(pool, (db, batch, audits) => commitOpenings(db, index, batch, audits)),
);

/**
 * incidents-open-batch.sql for the openings (none of them an alert's), each with its
 * audit rows; then their first escalations in the Redis index, in one update (one
 * MULTI, one wake-up for the workers) for the batch.
 */
async function commitOpenings(
  db: Queryable,
  index: PendingIndex,
  openings: readonly Opening[],
  audits: readonly (readonly AuditEntry[])[],
): Promise<IncidentRow[]> {
  const parts = openings.map((opening) => {
    if (opening.alert) throw new Error("an alert's incident is opened by incident-open.sql (its key may conflict), not in a batch");
    return openingParts(opening);
  });
  const rows = await run<IncidentRow>(db, sql('incidents-open-batch'), [
    JSON.stringify(parts.map((part) => part.record)),
    eventRecords(parts.flatMap((part) => part.events)),
    auditRecords(audits.flatMap((entries, owner) => entries.map((entry) => ({ entry, owner })))),
  ]);
  const byId = new Map(rows.map((row) => [row.id, row]));
  const opened = openings.map((opening) => {
    const row = byId.get(opening.incidentId);
    if (!row) throw new Error(`incidents-open-batch.sql did not return incident ${opening.incidentId}`);
    return row;
  });
  await index.applyAfterCommit({ add: parts.flatMap((part) => (part.firstEscalation ? [part.firstEscalation] : [])), remove: [] });
  return opened;
}

/** incident-open.sql's alert-log columns when no alert opened the incident (a null key: no line). */
const NO_ALERT_LOG: unknown[] = Array.from({ length: 9 }, () => null);
