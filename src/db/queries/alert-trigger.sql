-- An alert's trigger, decided and written in one statement, its own transaction (the hot
-- path of intake: issue 12 asks for 500 a second with p99 within 50 ms). It decides:
--   repeat  the service has an open incident with the key: count an occurrence on it;
--   open    none: open one (escalating at once with the frozen policy the caller gives),
--           counted in the service's storm window;
--   ignore  an occurrence that must not reopen ($28 false) whose incident is closed;
--   fold    the storm threshold is passed this minute, or the service's storm goes on:
--           nothing written here, the caller folds it (alert-occurrence.sql);
--   stale   the service's team, auto-escalation or policy (id and version) are not what
--           the caller expected ($9, $27, $10, $11): nothing written, the caller reads
--           them again and retries (they are cached in the API process between alerts).
-- "open" is an INSERT ... ON CONFLICT on the unique index of open incidents' keys: a
-- twin that opened the incident since this statement's snapshot makes it a repeat, so
-- two racing triggers open one incident. Its escalation, events, alert-log line and the
-- request's audit row are written with it; a repeat writes its alert-log line and the
-- audit row; an ignore its line (with the reason) and the audit row.
-- $1 incident id (made by the caller), $2 title, $3 description (nullable), $4 severity,
-- $5 state (OPEN, or ESCALATING), $6 version (1, or 2 when escalating), $7 now,
-- $8 service id, $9 the service's team as the caller knows it (nullable),
-- $10 policy id (null: the default policy, or none), $11 its version, $12 the frozen
-- snapshot (jsonb; null while OPEN); with auto-escalation, $10 and $11 are also what the
-- caller expects of the service's policy,
-- $13 the first escalation's id (null: none), $14 its level, $15 its repeat cycle,
-- $16 its due time,
-- $17-$25 the events of an opening: the nine arrays of events-insert.sql,
-- $26 the dedup key, $27 the service's auto_escalate as the caller knows it,
-- $28 whether a trigger for a closed incident with the key opens a new one,
-- $29 INTAKE_STORM_PER_MINUTE, $30 the start of the storm's quiet minute (now - 60 s),
-- the alert-log line (its outcome and reason are decided here): $31 integration key id,
-- $32 source, $33 action, $34 dedup key, $35 payload (jsonb), $36 parsed (jsonb),
-- $37 request id,
-- $38-$47 the audit rows: the ten arrays of audit-log-insert.sql (empty: none).
-- Returns: one row: the verdict, and for repeat and open the incident's id and whether
-- this statement inserted it.
WITH service AS (
  SELECT s.id, s.team_id, s.auto_escalate, s.escalation_policy_id, p.version AS policy_version
  FROM services s LEFT JOIN escalation_policies p ON p.id = s.escalation_policy_id
  WHERE s.id = $8::uuid
), existing AS (
  SELECT id FROM incidents
  WHERE service_id = $8::uuid AND dedup_key = $26::text AND state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED')
), last_of_key AS (
  SELECT state FROM incidents
  WHERE NOT $28::boolean AND service_id = $8::uuid AND dedup_key = $26::text
  ORDER BY created_at DESC LIMIT 1
), storm AS (
  SELECT alert_last_seen_at FROM incidents
  WHERE service_id = $8::uuid AND alert_storm AND state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED')
), first_look AS (
  SELECT CASE
    WHEN EXISTS (SELECT FROM existing) THEN 'repeat'
    WHEN NOT EXISTS (SELECT FROM service s
                     WHERE s.team_id IS NOT DISTINCT FROM $9::uuid AND s.auto_escalate = $27::boolean
                       AND (NOT $27::boolean OR (s.escalation_policy_id IS NOT DISTINCT FROM $10::uuid
                                                 AND coalesce(s.policy_version, 0) = $11::integer))) THEN 'stale'
    WHEN (SELECT state FROM last_of_key) IN ('RESOLVED', 'CANCELLED') THEN 'ignore'
    WHEN EXISTS (SELECT FROM storm WHERE alert_last_seen_at > $30::timestamptz) THEN 'fold'
    ELSE 'count'
  END AS verdict
), counted AS (
  -- The storm window: one row per service, upserted under its row lock, so the count is
  -- exact under concurrent requests. Only for an alert that would open an incident.
  INSERT INTO alert_storm_windows AS w (service_id, minute, opened)
  SELECT $8::uuid, date_trunc('minute', $7::timestamptz), 1 FROM first_look WHERE verdict = 'count'
  ON CONFLICT (service_id) DO UPDATE
    SET minute = EXCLUDED.minute,
        opened = CASE WHEN w.minute = EXCLUDED.minute THEN w.opened + 1 ELSE 1 END
  RETURNING opened
), decision AS (
  SELECT CASE
    WHEN verdict <> 'count' THEN verdict
    WHEN (SELECT opened FROM counted) > $29::integer THEN 'fold'
    ELSE 'open'
  END AS verdict
  FROM first_look
), incident AS (
  INSERT INTO incidents (id, title, description, severity, state, version, created_at, updated_at, service_id, team_id,
                         policy_id, policy_version, policy_snapshot, dedup_key, alert_storm, alert_count, alert_last_seen_at)
  SELECT $1::uuid, $2, $3, $4, $5::text, $6::integer, $7::timestamptz, $7::timestamptz, $8::uuid, $9::uuid,
         $10::uuid, $11::integer, $12::jsonb, $26::text, false, 1, $7::timestamptz
  FROM decision WHERE verdict IN ('repeat', 'open')
  ON CONFLICT (service_id, dedup_key) WHERE dedup_key IS NOT NULL AND state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED')
  DO UPDATE SET alert_count = incidents.alert_count + 1, alert_last_seen_at = EXCLUDED.alert_last_seen_at
  RETURNING id, (xmax = 0) AS inserted
), escalation AS (
  INSERT INTO escalations (id, incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at, trigger)
  SELECT $13::uuid, incident.id, $14::integer, $15::integer, 'PENDING', $16::timestamptz, $7::timestamptz, $7::timestamptz, 'timetable'
  FROM incident WHERE inserted AND $13::uuid IS NOT NULL
), events AS (
  INSERT INTO incident_events (incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id)
  SELECT event.incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id
  FROM unnest($17::uuid[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::timestamptz[], $24::jsonb[], $25::uuid[])
    WITH ORDINALITY AS event (incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id, position)
  WHERE EXISTS (SELECT FROM incident WHERE inserted)
  ORDER BY position
), alert AS (
  INSERT INTO alert_log (incident_id, received_at, service_id, integration_key_id, source, action, dedup_key, outcome, reason, payload, parsed, request_id)
  SELECT incident.id, $7::timestamptz, $8::uuid, $31::uuid, $32::text, $33::text, $34::text,
         CASE WHEN inserted THEN 'opened' ELSE 'deduplicated' END, NULL, $35::jsonb, $36::jsonb, $37::text
  FROM incident
  UNION ALL
  SELECT NULL, $7::timestamptz, $8::uuid, $31::uuid, $32::text, $33::text, $34::text,
         'ignored', 'this alert''s incident is already ' || (SELECT state FROM last_of_key) || ': the same occurrence sent again opens nothing',
         $35::jsonb, $36::jsonb, $37::text
  FROM decision WHERE verdict = 'ignore'
), audit AS (
  INSERT INTO audit_log (occurred_at, token_id, actor, team_id, method, route, path, status, request_id, client_request_id)
  SELECT * FROM unnest(
    $38::timestamptz[], $39::uuid[], $40::text[], $41::uuid[], $42::text[],
    $43::text[], $44::text[], $45::integer[], $46::text[], $47::text[]
  ) WHERE (SELECT verdict FROM decision) IN ('repeat', 'open', 'ignore')
)
SELECT decision.verdict, incident.id, incident.inserted
FROM decision LEFT JOIN incident ON true;
