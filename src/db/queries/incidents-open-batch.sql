-- Opens incidents in one statement: what incident-open.sql writes for one incident
-- opened by a person or a program (never by an alert: no dedup key, no alert-log line,
-- so nothing can conflict), for each of the openings that arrived together
-- (src/db/group-commit.ts): the incidents, their frozen policies, their first
-- escalations, their events and the requests' audit rows, committed at once. The
-- foreign keys between the rows are checked at the end of the statement.
-- Its three parameters are JSON arrays of rows (jsonb_to_recordset): a statement that
-- takes arrays is planned anew on every run, one that takes jsonb once per connection.
-- $1 the openings, as OpeningRecord (src/commands/open-incident.ts): id (made by the
-- caller), title, description (null: none), severity, state (OPEN, or ESCALATING),
-- version (1, or 2 when escalating), now, service_id and team_id (null: none,
-- organisation-wide), policy_id, policy_version and policy_snapshot (null while OPEN;
-- policy_id null: the default policy), escalation_id, level, repeat_cycle and due_at
-- (the first escalation; null: none);
-- $2 the events of all of them, in order (eventRecords, src/db/events.ts);
-- $3 the audit rows of all of them (auditRecords, src/db/audit-log.ts).
-- Returns: the new incident rows (in no particular order).
WITH opening AS (
  SELECT *
  FROM jsonb_to_recordset($1::jsonb)
    AS o (id uuid, title text, description text, severity text, state text, version integer, now timestamptz,
          service_id uuid, team_id uuid, policy_id uuid, policy_version integer, policy_snapshot jsonb,
          escalation_id uuid, level integer, repeat_cycle integer, due_at timestamptz)
), incident AS (
  INSERT INTO incidents (id, title, description, severity, state, version, created_at, updated_at, service_id, team_id,
                         policy_id, policy_version, policy_snapshot)
  SELECT id, title, description, severity, state, version, now, now, service_id, team_id, policy_id, policy_version, policy_snapshot
  FROM opening
  RETURNING *
), escalation AS (
  INSERT INTO escalations (id, incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at, trigger)
  SELECT escalation_id, id, level, repeat_cycle, 'PENDING', due_at, now, now, 'timetable'
  FROM opening
  WHERE escalation_id IS NOT NULL
), events AS (
  INSERT INTO incident_events (incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id)
  SELECT incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id
  FROM jsonb_to_recordset($2::jsonb)
    AS event (position integer, incident_id uuid, kind text, from_state text, to_state text, actor text, note text,
              occurred_at timestamptz, details jsonb, token_id uuid)
  ORDER BY position
), audit AS (
  INSERT INTO audit_log (occurred_at, token_id, actor, team_id, method, route, path, status, request_id, client_request_id)
  SELECT occurred_at, token_id, actor, team_id, method, route, path, status, request_id, client_request_id
  FROM jsonb_to_recordset($3::jsonb)
    AS audit (owner integer, occurred_at timestamptz, token_id uuid, actor text, team_id uuid, method text, route text,
              path text, status integer, request_id text, client_request_id text)
)
SELECT * FROM incident;
