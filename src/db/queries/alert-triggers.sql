-- Alerts' triggers, decided and written in one statement, its own transaction (the hot
-- path of intake: issue 12 asks for 500 a second with p99 within 50 ms), for the
-- triggers that arrived together (src/db/group-commit.ts), at most one per service (its
-- storm window is upserted once). For each it decides:
--   repeat  the service has an open incident with the key: count an occurrence on it;
--   open    none: open one (escalating at once with the frozen policy the caller gives),
--           counted in the service's storm window;
--   ignore  an occurrence that must not reopen (reopens false) whose incident is closed;
--   fold    the storm threshold is passed this minute, or the service's storm goes on:
--           nothing written here, the caller folds it (alert-fold.sql);
--   stale   the service's team, auto-escalation or policy (id and version) are not what
--           the caller expected: nothing written, the caller reads
--           them again and retries (they are cached in the API process between alerts).
-- "open" is an INSERT ... ON CONFLICT on the unique index of open incidents' keys: a
-- twin that opened the incident since this statement's snapshot makes it a repeat, so
-- two racing triggers open one incident. Its escalation, events, alert-log line and the
-- request's audit rows are written with it; a repeat writes its alert-log line and the
-- audit rows; an ignore its line (with the reason) and the audit rows. Rows are locked
-- in service order (storm windows, then incidents), as every batch does, so that two
-- batches never wait for each other in a circle.
-- Its three parameters are JSON arrays of rows (jsonb_to_recordset): a statement that
-- takes arrays is planned anew on every run, one that takes jsonb once per connection.
-- $1 the triggers: each an OpeningRecord (src/commands/open-incident.ts: the incident
-- it would open, escalating at once with the frozen policy the caller gives, and its
-- first escalation; its team_id, policy_id and policy_version are also what the caller
-- expects of the service), and n (its position, from 1), dedup_key, auto_escalate (the
-- service's, as the caller knows it), reopens (whether a trigger for a closed incident
-- with the key opens a new one), storm_per_minute (INTAKE_STORM_PER_MINUTE),
-- quiet_since (the start of the storm's quiet minute, now - 60 s), and the alert-log
-- line's integration_key_id, source, action, log_dedup_key, payload, parsed and
-- request_id (its outcome and reason are decided here);
-- $2 the events of the openings, in order (eventRecords, src/db/events.ts; an event is
-- written when its incident is opened here);
-- $3 the audit rows (auditRecords, src/db/audit-log.ts), each with the n of its trigger.
-- Returns: one row per trigger, in their order: its position (n), the verdict, and for
-- repeat and open the incident's id and whether this statement inserted it.
WITH input AS (
  SELECT *
  FROM jsonb_to_recordset($1::jsonb)
    AS i (n integer, id uuid, title text, description text, severity text, state text, version integer, now timestamptz,
          service_id uuid, team_id uuid, policy_id uuid, policy_version integer, policy_snapshot jsonb,
          escalation_id uuid, level integer, repeat_cycle integer, due_at timestamptz,
          dedup_key text, auto_escalate boolean, reopens boolean, storm_per_minute integer, quiet_since timestamptz,
          integration_key_id uuid, source text, action text, log_dedup_key text, payload jsonb, parsed jsonb, request_id text)
), looked AS (
  SELECT i.n,
    -- A scalar subquery, not EXISTS: Postgres may turn an EXISTS on equalities into one
    -- hash of every open incident, built for each statement.
    (SELECT true FROM incidents x
     WHERE x.service_id = i.service_id AND x.dedup_key = i.dedup_key AND x.state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED')
     LIMIT 1) IS NOT NULL AS has_open,
    EXISTS (SELECT FROM services s LEFT JOIN escalation_policies p ON p.id = s.escalation_policy_id
            WHERE s.id = i.service_id AND s.team_id IS NOT DISTINCT FROM i.team_id AND s.auto_escalate = i.auto_escalate
              AND (NOT i.auto_escalate OR (s.escalation_policy_id IS NOT DISTINCT FROM i.policy_id
                                           AND coalesce(p.version, 0) = i.policy_version))) AS as_expected,
    (SELECT x.state FROM incidents x
     WHERE NOT i.reopens AND x.service_id = i.service_id AND x.dedup_key = i.dedup_key
     ORDER BY x.created_at DESC LIMIT 1) AS last_state,
    EXISTS (SELECT FROM incidents x
            WHERE x.service_id = i.service_id AND x.alert_storm AND x.state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED')
              AND x.alert_last_seen_at > i.quiet_since) AS storming
  FROM input i
), first_look AS (
  SELECT n, last_state, CASE
    WHEN has_open THEN 'repeat'
    WHEN NOT as_expected THEN 'stale'
    WHEN last_state IN ('RESOLVED', 'CANCELLED') THEN 'ignore'
    WHEN storming THEN 'fold'
    ELSE 'count'
  END AS verdict
  FROM looked
), counted AS (
  -- The storm windows: one row per service, upserted under its row lock, so the count
  -- is exact under concurrent requests. Only for an alert that would open an incident.
  INSERT INTO alert_storm_windows AS w (service_id, minute, opened)
  SELECT i.service_id, date_trunc('minute', i.now), 1
  FROM first_look f JOIN input i USING (n)
  WHERE f.verdict = 'count'
  ORDER BY i.service_id
  ON CONFLICT (service_id) DO UPDATE
    SET minute = EXCLUDED.minute,
        opened = CASE WHEN w.minute = EXCLUDED.minute THEN w.opened + 1 ELSE 1 END
  RETURNING service_id, opened
), decision AS (
  SELECT f.n, f.last_state, CASE
    WHEN f.verdict <> 'count' THEN f.verdict
    WHEN c.opened > i.storm_per_minute THEN 'fold'
    ELSE 'open'
  END AS verdict
  FROM first_look f JOIN input i USING (n) LEFT JOIN counted c ON c.service_id = i.service_id
), incident AS (
  INSERT INTO incidents (id, title, description, severity, state, version, created_at, updated_at, service_id, team_id,
                         policy_id, policy_version, policy_snapshot, dedup_key, alert_storm, alert_count, alert_last_seen_at)
  SELECT i.id, i.title, i.description, i.severity, i.state, i.version, i.now, i.now, i.service_id, i.team_id,
         i.policy_id, i.policy_version, i.policy_snapshot, i.dedup_key, false, 1, i.now
  FROM decision d JOIN input i USING (n)
  WHERE d.verdict IN ('repeat', 'open')
  ORDER BY i.service_id, i.dedup_key
  ON CONFLICT (service_id, dedup_key) WHERE dedup_key IS NOT NULL AND state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED')
  DO UPDATE SET alert_count = incidents.alert_count + 1, alert_last_seen_at = EXCLUDED.alert_last_seen_at
  RETURNING id, service_id, dedup_key, (xmax = 0) AS inserted
), placed AS (
  SELECT i.n, x.id, x.inserted
  FROM incident x JOIN input i ON i.service_id = x.service_id AND i.dedup_key = x.dedup_key
), escalation AS (
  INSERT INTO escalations (id, incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at, trigger)
  SELECT i.escalation_id, p.id, i.level, i.repeat_cycle, 'PENDING', i.due_at, i.now, i.now, 'timetable'
  FROM placed p JOIN input i USING (n)
  WHERE p.inserted AND i.escalation_id IS NOT NULL
), events AS (
  INSERT INTO incident_events (incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id)
  SELECT event.incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id
  FROM jsonb_to_recordset($2::jsonb)
    AS event (position integer, incident_id uuid, kind text, from_state text, to_state text, actor text, note text,
              occurred_at timestamptz, details jsonb, token_id uuid)
  WHERE event.incident_id IN (SELECT id FROM placed WHERE inserted)
  ORDER BY position
), alert AS (
  INSERT INTO alert_log (incident_id, received_at, service_id, integration_key_id, source, action, dedup_key, outcome, reason, payload, parsed, request_id)
  SELECT p.id, i.now, i.service_id, i.integration_key_id, i.source, i.action, i.log_dedup_key,
         CASE WHEN p.inserted THEN 'opened' ELSE 'deduplicated' END, NULL, coalesce(i.payload, 'null'), i.parsed, i.request_id
  FROM placed p JOIN input i USING (n)
  UNION ALL
  SELECT NULL, i.now, i.service_id, i.integration_key_id, i.source, i.action, i.log_dedup_key,
         'ignored', 'this alert''s incident is already ' || d.last_state || ': the same occurrence sent again opens nothing',
         coalesce(i.payload, 'null'), i.parsed, i.request_id
  FROM decision d JOIN input i USING (n)
  WHERE d.verdict = 'ignore'
), audit AS (
  INSERT INTO audit_log (occurred_at, token_id, actor, team_id, method, route, path, status, request_id, client_request_id)
  SELECT a.occurred_at, a.token_id, a.actor, a.team_id, a.method, a.route, a.path, a.status, a.request_id, a.client_request_id
  FROM jsonb_to_recordset($3::jsonb)
    AS a (owner integer, occurred_at timestamptz, token_id uuid, actor text, team_id uuid, method text, route text,
          path text, status integer, request_id text, client_request_id text)
  JOIN decision d ON d.n = a.owner
  WHERE d.verdict IN ('repeat', 'open', 'ignore')
)
SELECT d.n, d.verdict, p.id, p.inserted
FROM decision d LEFT JOIN placed p USING (n)
ORDER BY d.n;
