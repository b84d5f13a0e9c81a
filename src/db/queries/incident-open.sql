-- Opens an alert's incident (a service's alert storm incident: src/commands/intake.ts;
-- the incidents no alert opens are committed in batches, incidents-open-batch.sql) in
-- one statement, which is its own transaction (run without BEGIN and COMMIT:
-- src/db/transaction.ts commitStatement): the incident, already ESCALATING
-- with its frozen policy when it starts escalating at once; its first escalation; its
-- events; the alert-log line of the alert that opened it; and the request's audit row.
-- What incident-insert, incident-set-policy, incident-set-state, escalation-insert,
-- events-insert and audit-log-insert would leave, one after the other in a transaction,
-- written at once. The foreign keys between the rows are checked at the end of the
-- statement.
-- An alert's incident (a dedup key, or the service's storm incident) is not opened when
-- the service already has one open with that key (or an open storm incident): the
-- unique indexes incidents_open_dedup_key / incidents_open_alert_storm say so, ON
-- CONFLICT DO NOTHING, and then nothing at all is written (no row returned); the
-- caller folds the alert into the incident that won instead (alert-fold.sql).
-- $1 incident id (made by the caller), $2 title, $3 description (nullable), $4 severity,
-- $5 state (OPEN, or ESCALATING), $6 version (1: opened; 2: opened, then escalating),
-- $7 now, $8 service id (nullable), $9 team id (nullable: organisation-wide),
-- $10 policy id (nullable: the default policy), $11 policy version, $12 policy snapshot
-- (jsonb; these three null while OPEN),
-- $13 the first escalation's id (made by the caller; null: none), $14 its level,
-- $15 its repeat cycle, $16 its due time,
-- $17-$25 the events, as nine arrays (eventColumns, src/db/events.ts): incident ids,
-- kinds, from states, to states, actors, notes, times, details (jsonb[]), token ids,
-- $26 the alert's dedup key (null: not opened by an alert, or the storm incident),
-- $27 whether it is the service's alert storm incident,
-- $28-$36 the alert-log line: the nine columns of alert-log-insert.sql's $4-$12
-- ($28, the integration key, null: no line; received at now, for the service $8),
-- $37-$46 the audit rows: the ten arrays of audit-log-insert.sql (empty: none).
-- Returns: the new incident row, or none when an open one already had the key.
WITH incident AS (
  INSERT INTO incidents (id, title, description, severity, state, version, created_at, updated_at, service_id, team_id,
                         policy_id, policy_version, policy_snapshot, dedup_key, alert_storm, alert_count, alert_last_seen_at)
  VALUES ($1::uuid, $2, $3, $4, $5::text, $6::integer, $7::timestamptz, $7::timestamptz, $8::uuid, $9::uuid,
          $10::uuid, $11::integer, $12::jsonb, $26::text, $27::boolean,
          CASE WHEN $28::uuid IS NULL THEN 0 ELSE 1 END, CASE WHEN $28::uuid IS NULL THEN NULL ELSE $7::timestamptz END)
  ON CONFLICT DO NOTHING
  RETURNING *
), escalation AS (
  INSERT INTO escalations (id, incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at, trigger)
  SELECT $13::uuid, incident.id, $14::integer, $15::integer, 'PENDING', $16::timestamptz, $7::timestamptz, $7::timestamptz, 'timetable'
  FROM incident WHERE $13::uuid IS NOT NULL
), events AS (
  INSERT INTO incident_events (incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id)
  SELECT event.incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id
  FROM unnest($17::uuid[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::timestamptz[], $24::jsonb[], $25::uuid[])
    WITH ORDINALITY AS event (incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id, position)
  WHERE EXISTS (SELECT FROM incident)
  ORDER BY position
), alert AS (
  INSERT INTO alert_log (incident_id, received_at, integration_key_id, service_id, source, action, dedup_key, outcome, reason, payload, parsed, request_id)
  SELECT incident.id, $7::timestamptz, $28::uuid, $8::uuid, $29::text, $30::text, $31::text, $32::text, $33::text, $34::jsonb, $35::jsonb, $36::text
  FROM incident WHERE $28::uuid IS NOT NULL
), audit AS (
  INSERT INTO audit_log (occurred_at, token_id, actor, team_id, method, route, path, status, request_id, client_request_id)
  SELECT * FROM unnest(
    $37::timestamptz[], $38::uuid[], $39::text[], $40::uuid[], $41::text[],
    $42::text[], $43::text[], $44::integer[], $45::text[], $46::text[]
  ) WHERE EXISTS (SELECT FROM incident)
)
SELECT * FROM incident;
