-- Folds an alert into its service's open storm incident, in one statement (its own
-- transaction): counts it there, with its alert-log line and the request's audit rows.
-- With no storm incident open nothing is written, and the caller opens one
-- (incident-open.sql).
-- $1 service id, $2 now,
-- $3-$11 the alert-log line: the nine columns of alert-log-insert.sql's $4-$12,
-- $12-$21 the audit rows: the ten arrays of audit-log-insert.sql (empty: none).
-- Returns: the storm incident's id, or none.
WITH hit AS (
  -- The state is checked again on the row as it is when locked: one resolved meanwhile is not counted.
  UPDATE incidents SET alert_count = alert_count + 1, alert_last_seen_at = $2::timestamptz
  WHERE service_id = $1::uuid AND alert_storm AND state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED')
  RETURNING id
), alert AS (
  INSERT INTO alert_log (incident_id, received_at, service_id, integration_key_id, source, action, dedup_key, outcome, reason, payload, parsed, request_id)
  SELECT hit.id, $2::timestamptz, $1::uuid, $3::uuid, $4::text, $5::text, $6::text, $7::text, $8::text, $9::jsonb, $10::jsonb, $11::text
  FROM hit
), audit AS (
  INSERT INTO audit_log (occurred_at, token_id, actor, team_id, method, route, path, status, request_id, client_request_id)
  SELECT * FROM unnest(
    $12::timestamptz[], $13::uuid[], $14::text[], $15::uuid[], $16::text[],
    $17::text[], $18::text[], $19::integer[], $20::text[], $21::text[]
  ) WHERE EXISTS (SELECT FROM hit)
)
SELECT id FROM hit;
