/** Writing incident events: the one way any of them is appended (the kinds and their details: src/domain/events.ts). */
import type { NewEvent } from '../domain/events.ts';
import { type Queryable, run, sql } from './queries.ts';

/**
 * The events as nine arrays, in the order incident-open.sql takes them: what a
 * command that opens one incident in one statement passes for its events.
 */
export function eventColumns(events: readonly NewEvent[]): unknown[] {
  const column = <T>(pick: (event: NewEvent) => T) => events.map(pick);
  return [
    column((event) => event.incidentId),
    column((event) => event.kind),
    column((event) => event.from),
    column((event) => event.to),
    column((event) => event.actor ?? null),
    column((event) => event.note ?? null),
    column((event) => event.occurredAt),
    column((event) => JSON.stringify(event.details)),
    column((event) => event.tokenId ?? null),
  ];
}

/**
 * The events as one JSON array of rows, for a statement that takes them as one jsonb
 * parameter (jsonb_to_recordset: events-insert.sql, the batch statements): each with
 * its position, since a set has no order.
 */
export function eventRecords(events: readonly NewEvent[]): string {
  return JSON.stringify(
    events.map((event, position) => ({
      position,
      incident_id: event.incidentId,
      kind: event.kind,
      from_state: event.from,
      to_state: event.to,
      actor: event.actor ?? null,
      note: event.note ?? null,
      // A string already: JSON.stringify is several times slower on objects holding Dates.
      occurred_at: event.occurredAt.toISOString(),
      details: event.details,
      token_id: event.tokenId ?? null,
    })),
  );
}

/** Appends the events in one statement, in the order given. */
export async function appendEvents(db: Queryable, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await run(db, sql('events-insert'), [eventRecords(events)]);
}
