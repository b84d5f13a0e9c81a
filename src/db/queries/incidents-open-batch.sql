-- Opens incidents in one statement, which is its own transaction: what incident-open.sql
-- writes for one incident opened by a person or a program (never by an alert: no dedup
-- key, no alert-log line, so nothing can conflict), for each of the openings that
-- arrived together (src/db/group-commit.ts): the incidents, their frozen policies,
-- their first escalations, their events and the requests' audit rows, committed at
-- once. One element of each array per incident ($1-$16), or per event ($17-$25), or per
-- audit row ($26-$35); the foreign keys between the rows are checked at the end of the
-- statement.
-- $1 incident ids[] (made by the caller), $2 titles[], $3 descriptions[] (null: none),
-- $4 severities[], $5 states[] (OPEN, or ESCALATING), $6 versions[] (1, or 2 when
-- escalating), $7 now[], $8 service ids[] (null: none), $9 team ids[] (null:
-- organisation-wide), $10 policy ids[] (null: the default policy, or none), $11 policy
-- versions[], $12 policy snapshots[] (jsonb; null while OPEN),
-- $13 first escalation ids[] (null: none), $14 their levels[], $15 their repeat
-- cycles[], $16 their due times[],
-- $17-$25 the events of all of them: the nine arrays of events-insert.sql,
-- $26-$35 the audit rows of all of them: the ten arrays of audit-log-insert.sql.
-- Returns: the new incident rows (in no particular order).
WITH incident AS (
  INSERT INTO incidents (id, title, description, severity, state, version, created_at, updated_at, service_id, team_id,
                         policy_id, policy_version, policy_snapshot)
  SELECT id, title, description, severity, state, version, now, now, service_id, team_id, policy_id, policy_version, policy_snapshot
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::integer[], $7::timestamptz[], $8::uuid[],
              $9::uuid[], $10::uuid[], $11::integer[], $12::jsonb[])
    AS opening (id, title, description, severity, state, version, now, service_id, team_id, policy_id, policy_version, policy_snapshot)
  RETURNING *
), escalation AS (
  INSERT INTO escalations (id, incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at, trigger)
  SELECT id, incident_id, level, repeat_cycle, 'PENDING', due_at, now, now, 'timetable'
  FROM unnest($13::uuid[], $1::uuid[], $14::integer[], $15::integer[], $16::timestamptz[], $7::timestamptz[])
    AS first (id, incident_id, level, repeat_cycle, due_at, now)
  WHERE id IS NOT NULL
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
