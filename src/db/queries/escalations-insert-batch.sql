-- Schedules a batch of escalation steps. Idempotent: a step already scheduled for
-- the same incident, cycle and level is left as it is and not returned.
-- $1 incident ids (uuid[]), $2 levels (int[]), $3 repeat cycles (int[]), $4 due times (timestamptz[]), $5 now
-- Returns: id, incident_id, scheduled_at of the rows inserted.
INSERT INTO escalations (incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at)
SELECT step.incident_id, step.level, step.repeat_cycle, 'PENDING', step.due_at, $5::timestamptz, $5::timestamptz
FROM unnest($1::uuid[], $2::int[], $3::int[], $4::timestamptz[]) AS step (incident_id, level, repeat_cycle, due_at)
ON CONFLICT (incident_id, repeat_cycle, escalation_level) WHERE status <> 'CANCELLED' DO NOTHING
RETURNING id, incident_id, scheduled_at;
