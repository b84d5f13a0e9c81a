/**
 * Opens an incident, and with `escalate: true` starts escalating it in the same
 * transaction, so an incident that must page can never be left OPEN by a crash
 * between two calls. The incident belongs to its service's team; without a service,
 * to the caller's team (an organisation-wide caller may name one, or none).
 */
import { ReferenceNotFoundError } from '../domain/errors.ts';
import { type TeamScope, canSee } from '../domain/team-scope.ts';
import { ownerTeam } from './records.ts';
import type { Incident, Severity } from '../domain/incident.ts';
import { IncidentState } from '../domain/incident-states.ts';
import { run, sql } from '../db/queries.ts';
import { type IncidentRow, toIncident } from '../db/rows.ts';
import { appendEvents } from '../db/events.ts';
import { inTransaction } from '../db/transaction.ts';
import type { IndexChange } from '../engine/index/pending.ts';
import type { CommandDeps } from './deps.ts';
import { type EventAuthor, applyTransition } from './transition-incident.ts';

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
  const change: IndexChange = { add: [], remove: [] };
  const incident = await inTransaction(deps.pool, async (client) => {
    change.add = [];
    change.remove = [];
    const now = deps.clock.now();
    let teamId: string | null;
    if (input.serviceId) {
      const [service] = await run<{ team_id: string | null }>(client, sql('service-get'), [input.serviceId]);
      if (!service || !canSee(scope, service.team_id)) {
        throw new ReferenceNotFoundError([{ field: 'service_id', rule: 'exists', message: `no service with id ${input.serviceId}` }]);
      }
      if (input.teamId != null && input.teamId !== service.team_id) {
        throw new ReferenceNotFoundError([{ field: 'team_id', rule: 'service_team', message: "must be the service's team, or left out" }]);
      }
      teamId = service.team_id;
    } else {
      teamId = await ownerTeam(client, scope, input.teamId);
    }
    const [row] = await run<IncidentRow>(client, sql('incident-insert'), [
      input.title,
      input.description ?? null,
      input.severity,
      now,
      input.serviceId ?? null,
      teamId,
    ]);
    if (!row) throw new Error('INSERT ... RETURNING returned no row');
    await appendEvents(client, [
      {
        incidentId: row.id,
        kind: 'opened',
        from: null,
        to: IncidentState.OPEN,
        details: { severity: input.severity, service_id: input.serviceId ?? null },
        occurredAt: now,
        actor: input.actor,
        note: input.note,
        tokenId: input.tokenId,
      },
    ]);
    if (!input.escalate) return toIncident(row);
    // The row was inserted by this transaction, so nobody else can hold or see it yet.
    return applyTransition(client, deps, row, { to: IncidentState.ESCALATING, actor: input.actor, tokenId: input.tokenId }, change);
  });
  await deps.pendingIndex.applyAfterCommit(change);
  return incident;
}
