/**
 * Opens an incident, and with `escalate: true` starts escalating it in the same
 * transaction, so an incident that must page can never be left OPEN by a crash
 * between two calls. The incident belongs to its service's team; without a service,
 * to the caller's team (an organisation-wide caller may name one, or none).
 *
 * The hot path of the API (issue 10: one process must open and escalate 800 a
 * second). What the change needs is read first (the service, the team named, the
 * service's policy: none of it for an incident opened with neither service nor team),
 * then the change is one statement, its own transaction (incident-open.sql): the
 * incident already in the state it leaves in, its policy frozen, level 1 scheduled,
 * its events and the request's audit row, committed together in one round trip. A
 * service, team or policy deleted between the reads and that statement fails its
 * foreign keys (a 422), as a concurrent deletion did inside the transaction before.
 */
import { randomUUID } from 'node:crypto';
import { ReferenceNotFoundError } from '../domain/errors.ts';
import { type TeamScope, canSee } from '../domain/team-scope.ts';
import { ownerTeam } from './records.ts';
import type { Incident, Severity } from '../domain/incident.ts';
import { IncidentState } from '../domain/incident-states.ts';
import type { NewEvent, TransitionDetails } from '../domain/events.ts';
import { snapshotToJson, timetableOf } from '../domain/policy.ts';
import { firstStep } from '../domain/timetable.ts';
import { run, sql } from '../db/queries.ts';
import { type IncidentRow, toIncident } from '../db/rows.ts';
import { eventColumns } from '../db/events.ts';
import { commitStatement } from '../db/transaction.ts';
import type { CommandDeps } from './deps.ts';
import { EVENT_KIND_FOR, type EventAuthor, policyToFreeze } from './transition-incident.ts';

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

interface ServiceRow {
  team_id: string | null;
  escalation_policy_id: string | null;
}

export async function openIncident(deps: CommandDeps, scope: TeamScope, input: OpenIncidentInput): Promise<Incident> {
  let teamId: string | null;
  let service: ServiceRow | null = null;
  if (input.serviceId) {
    [service = null] = await run<ServiceRow>(deps.pool, sql('service-get'), [input.serviceId]);
    if (!service || !canSee(scope, service.team_id)) {
      throw new ReferenceNotFoundError([{ field: 'service_id', rule: 'exists', message: `no service with id ${input.serviceId}` }]);
    }
    if (input.teamId != null && input.teamId !== service.team_id) {
      throw new ReferenceNotFoundError([{ field: 'team_id', rule: 'service_team', message: "must be the service's team, or left out" }]);
    }
    teamId = service.team_id;
  } else {
    teamId = await ownerTeam(deps.pool, scope, input.teamId);
  }
  const policy = input.escalate ? await policyToFreeze(deps.pool, deps, service) : undefined;

  const now = deps.clock.now();
  const incidentId = randomUUID();
  const events: NewEvent[] = [
    {
      incidentId,
      kind: 'opened',
      from: null,
      to: IncidentState.OPEN,
      details: { severity: input.severity, service_id: input.serviceId ?? null },
      occurredAt: now,
      actor: input.actor,
      note: input.note,
      tokenId: input.tokenId,
    },
  ];
  // Starting to escalate, as applyTransition does it from OPEN: level 1 of cycle 0.
  const step = policy ? firstStep(timetableOf(policy), now) : undefined;
  const escalationId = step ? randomUUID() : null;
  if (step && escalationId) {
    const details: TransitionDetails = { scheduled: { escalation_id: escalationId, level: step.level, due_at: step.dueAt } };
    events.push({
      incidentId,
      kind: EVENT_KIND_FOR.ESCALATING,
      from: IncidentState.OPEN,
      to: IncidentState.ESCALATING,
      details,
      occurredAt: now,
      actor: input.actor,
      tokenId: input.tokenId,
    });
  }

  const [row] = await commitStatement<IncidentRow>(deps.pool, sql('incident-open'), [
    incidentId,
    input.title,
    input.description ?? null,
    input.severity,
    policy ? IncidentState.ESCALATING : IncidentState.OPEN,
    policy ? 2 : 1,
    now,
    input.serviceId ?? null,
    teamId,
    policy ? policy.policyId : null,
    policy ? policy.version : null,
    policy ? JSON.stringify(snapshotToJson(policy)) : null,
    escalationId,
    step?.level ?? null,
    step?.repeatCycle ?? null,
    step?.dueAt ?? null,
    ...eventColumns(events),
  ]);
  if (!row) throw new Error('INSERT ... RETURNING returned no row');
  await deps.pendingIndex.applyAfterCommit({ add: step && escalationId ? [{ id: escalationId, dueAt: step.dueAt }] : [], remove: [] });
  return toIncident(row);
}
