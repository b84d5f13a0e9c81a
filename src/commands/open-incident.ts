/**
 * Opens an incident, and with `escalate: true` starts escalating it in the same
 * transaction, so an incident that must page can never be left OPEN by a crash
 * between two calls.
 */
import { ReferenceNotFoundError } from '../domain/errors.ts';
import type { Incident, Severity } from '../domain/incident.ts';
import { IncidentState } from '../domain/incident-states.ts';
import { run, sql } from '../db/queries.ts';
import { type IncidentRow, toIncident } from '../db/rows.ts';
import { inTransaction } from '../db/transaction.ts';
import type { IndexChange } from '../redis/pending-index.ts';
import type { CommandDeps } from './deps.ts';
import { applyTransition } from './transition-incident.ts';

export interface OpenIncidentInput {
  title: string;
  description?: string | undefined;
  severity: Severity;
  serviceId?: string | undefined;
  escalate?: boolean | undefined;
  actor?: string | undefined;
  note?: string | undefined;
}

export async function openIncident(deps: CommandDeps, input: OpenIncidentInput): Promise<Incident> {
  const change: IndexChange = { add: [], remove: [] };
  const incident = await inTransaction(deps.pool, async (client) => {
    change.add = [];
    change.remove = [];
    const now = deps.clock.now();
    if (input.serviceId) {
      const [service] = await run(client, sql('service-get'), [input.serviceId]);
      if (!service) {
        throw new ReferenceNotFoundError([{ field: 'service_id', rule: 'exists', message: `no service with id ${input.serviceId}` }]);
      }
    }
    const [row] = await run<IncidentRow>(client, sql('incident-insert'), [
      input.title,
      input.description ?? null,
      input.severity,
      now,
      input.serviceId ?? null,
    ]);
    if (!row) throw new Error('INSERT ... RETURNING returned no row');
    await run(client, sql('event-insert'), [
      row.id,
      'opened',
      null,
      IncidentState.OPEN,
      input.actor ?? null,
      input.note ?? null,
      now,
      JSON.stringify({ severity: input.severity, service_id: input.serviceId ?? null }),
    ]);
    if (!input.escalate) return toIncident(row);
    // The row was inserted by this transaction, so nobody else can hold or see it yet.
    return applyTransition(client, deps, row, { to: IncidentState.ESCALATING, actor: input.actor }, change);
  });
  await deps.pendingIndex.applyAfterCommit(change);
  return incident;
}
