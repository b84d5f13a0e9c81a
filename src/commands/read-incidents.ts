/** Read-only queries behind the GET routes. */
import { NotFoundError } from '../domain/errors.ts';
import { type TeamScope, canSee } from '../domain/team-scope.ts';
import type { IncidentEvent } from '../domain/events.ts';
import type { Escalation, Incident } from '../domain/incident.ts';
import type { IncidentState } from '../domain/incident-states.ts';
import { type Queryable, run, sql } from '../db/queries.ts';
import { type EscalationRow, type EventRow, type IncidentRow, toEscalation, toEvent, toIncident } from '../db/rows.ts';

/** An incident the caller's team scope sees; another team's answers as not found. */
export async function getIncident(db: Queryable, scope: TeamScope, id: string): Promise<Incident> {
  const [row] = await run<IncidentRow>(db, sql('incident-get'), [id]);
  if (!row || !canSee(scope, row.team_id)) throw new NotFoundError('incident', id);
  return toIncident(row);
}

export interface IncidentPageCursor {
  createdAt: string;
  id: string;
}

export interface IncidentPage {
  items: Incident[];
  next: IncidentPageCursor | null;
}

export async function listIncidents(
  db: Queryable,
  scope: TeamScope,
  query: { state?: IncidentState | undefined; limit: number; after?: IncidentPageCursor | undefined },
): Promise<IncidentPage> {
  // One extra row tells whether there is a next page without a COUNT.
  const rows = await run<IncidentRow & { cursor_created_at: string }>(db, sql('incidents-list'), [
    query.state ?? null,
    query.after?.createdAt ?? null,
    query.after?.id ?? null,
    query.limit + 1,
    scope.teamId,
  ]);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map(toIncident),
    next: rows.length > query.limit && last ? { createdAt: last.cursor_created_at, id: last.id } : null,
  };
}

export async function listEscalations(db: Queryable, scope: TeamScope, incidentId: string): Promise<Escalation[]> {
  await getIncident(db, scope, incidentId);
  const rows = await run<EscalationRow>(db, sql('escalations-by-incident'), [incidentId]);
  return rows.map(toEscalation);
}

export async function listEvents(db: Queryable, scope: TeamScope, incidentId: string): Promise<IncidentEvent[]> {
  await getIncident(db, scope, incidentId);
  const rows = await run<EventRow>(db, sql('events-by-incident'), [incidentId]);
  return rows.map(toEvent);
}
