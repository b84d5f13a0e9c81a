-- Opens an incident in one statement, which is its own transaction (run without BEGIN
-- and COMMIT: src/db/transaction.ts commitStatement): the incident, already ESCALATING
-- with its frozen policy when it starts escalating at once; its first escalation; its
-- events; and the request's audit row. What incident-insert, incident-set-policy,
-- incident-set-state, escalation-insert, events-insert and audit-log-insert would
-- leave, one after the other in a transaction, written at once. The foreign keys
-- between the rows are checked at the end of the statement.
-- $1 incident id (made by the caller), $2 title, $3 description (nullable), $4 severity,
-- $5 state (OPEN, or ESCALATING), $6 version (1: opened; 2: opened, then escalating),
-- $7 now, $8 service id (nullable), $9 team id (nullable: organisation-wide),
-- $10 policy id (nullable: the default policy), $11 policy version, $12 policy snapshot
-- (jsonb; these three null while OPEN),
-- $13 the first escalation's id (made by the caller; null: none), $14 its level,
-- $15 its repeat cycle, $16 its due time,
-- $17-$25 the events: the nine arrays of events-insert.sql,
-- $26-$35 the audit rows: the ten arrays of audit-log-insert.sql (empty: none).
-- Returns: the new incident row.
WITH incident AS (
  INSERT INTO incidents (id, title, description, severity, state, version, created_at, updated_at, service_id, team_id,
                         policy_id, policy_version, policy_snapshot)
  VALUES ($1::uuid, $2, $3, $4, $5::text, $6::integer, $7::timestamptz, $7::timestamptz, $8::uuid, $9::uuid,
          $10::uuid, $11::integer, $12::jsonb)
  RETURNING *
), escalation AS (
  INSERT INTO escalations (id, incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at, trigger)
  SELECT $13::uuid, $1::uuid, $14::integer, $15::integer, 'PENDING', $16::timestamptz, $7::timestamptz, $7::timestamptz, 'timetable'
  WHERE $13::uuid IS NOT NULL
), events AS (
  INSERT INTO incident_events (incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id)
  SELECT incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id
  FROM unnest($17::uuid[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::timestamptz[], $24::jsonb[], $25::uuid[])
    WITH ORDINALITY AS event (incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id, position)
  ORDER BY position
), audit AS (
  INSERT INTO audit_log (occurred_at, token_id, actor, team_id, method, route, path, status, request_id, client_request_id)
  SELECT * FROM unnest(
    $26::timestamptz[], $27::uuid[], $28::text[], $29::uuid[], $30::text[],
    $31::text[], $32::text[], $33::integer[], $34::text[], $35::text[]
  )
)
SELECT * FROM incident;
