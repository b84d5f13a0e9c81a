-- Appends one line to the alert log: an event received that touched no incident, or that
-- acted on one inside the caller's transaction (an acknowledge, a resolve).
-- $1 incident id (null: none), $2 received at, $3 service id,
-- $4 integration key id, $5 source, $6 action (null: unreadable), $7 dedup key (null:
-- none), $8 outcome, $9 reason (null: none), $10 payload as received (jsonb),
-- $11 what it was read as (jsonb, or the errors; null: nothing), $12 request id,
-- $13-$22 the audit rows: the ten arrays of audit-log-insert.sql (empty: none).
-- Returns: nothing.
WITH alert AS (
  INSERT INTO alert_log (incident_id, received_at, service_id, integration_key_id, source, action, dedup_key, outcome, reason, payload, parsed, request_id)
  VALUES ($1::uuid, $2::timestamptz, $3::uuid, $4::uuid, $5::text, $6::text, $7::text, $8::text, $9::text, $10::jsonb, $11::jsonb, $12::text)
)
INSERT INTO audit_log (occurred_at, token_id, actor, team_id, method, route, path, status, request_id, client_request_id)
SELECT * FROM unnest(
  $13::timestamptz[], $14::uuid[], $15::text[], $16::uuid[], $17::text[],
  $18::text[], $19::text[], $20::integer[], $21::text[], $22::text[]
);
