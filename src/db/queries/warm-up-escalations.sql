-- The worker's warm-up (src/worker/warm-up.ts), on its copies of the tables (a shadow
-- session) and inside a transaction it always rolls back: $1 synthetic incidents,
-- ESCALATING on the default policy (no snapshot: no targets, so their executions page
-- nobody and plan no notification), each with its level 1 due a second before $2 (now).
-- $1 how many (int), $2 now
-- Returns: the escalations' ids.
WITH incident AS (
  INSERT INTO incidents (title, severity, state, created_at, updated_at)
  SELECT 'klaxon worker warm-up (rolled back)', 'info', 'ESCALATING', $2::timestamptz, $2::timestamptz
  FROM generate_series(1, $1::int)
  RETURNING id
)
INSERT INTO escalations (incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at)
SELECT id, 1, 0, 'PENDING', $2::timestamptz - interval '1 second', $2::timestamptz, $2::timestamptz
FROM incident
RETURNING id;
