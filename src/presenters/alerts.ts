/**
 * The alert log as the API shows it (GET /incidents/:id/alerts): each line of
 * alert_log, the payload as it was received.
 */
import { ALERT_ACTIONS, ALERT_OUTCOMES, ALERT_SOURCES } from '../domain/alerts/event.ts';
import type { AlertLogRow } from '../db/rows.ts';
import { Instant, Nullable, type Static, StringEnum, Type, Uuid } from '../schema/types.ts';
import { iso } from './common.ts';

export const AlertLogView = Type.Object(
  {
    id: Type.String({ description: 'The line’s id in alert_log (ascending in the order received)' }),
    received_at: Instant(),
    integration_key_id: Uuid(),
    service_id: Uuid(),
    source: StringEnum(ALERT_SOURCES),
    action: Nullable(StringEnum(ALERT_ACTIONS)),
    dedup_key: Nullable(Type.String()),
    incident_id: Nullable(Uuid()),
    outcome: StringEnum(ALERT_OUTCOMES),
    reason: Nullable(Type.String()),
    payload: Type.Unknown({ description: 'The event as received (one alert of a webhook, with its group’s fields)' }),
    parsed: Type.Unknown({ description: 'What it was read as, or the errors that made it invalid' }),
    request_id: Nullable(Type.String()),
  },
  { title: 'AlertLogLine', additionalProperties: false },
);

export const AlertLogPage = Type.Object(
  {
    incident_id: Uuid(),
    items: Type.Array(AlertLogView),
    next_after: Nullable(Type.String({ description: 'Pass as `after` for the next page; null: no more' })),
  },
  { additionalProperties: false },
);

export function presentAlertLine(row: AlertLogRow): Static<typeof AlertLogView> {
  return {
    id: String(row.id),
    received_at: iso(row.received_at),
    integration_key_id: row.integration_key_id,
    service_id: row.service_id,
    source: row.source,
    action: row.action,
    dedup_key: row.dedup_key,
    incident_id: row.incident_id,
    outcome: row.outcome,
    reason: row.reason,
    payload: row.payload,
    parsed: row.parsed,
    request_id: row.request_id,
  };
}
