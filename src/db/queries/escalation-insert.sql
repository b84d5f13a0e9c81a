-- Schedules one escalation step. Idempotent: a step already scheduled (and not
-- cancelled) for this incident, cycle and level is left as it is and nothing is returned.
-- $1 incident id, $2 level, $3 repeat cycle, $4 due time, $5 now, $6 trigger (timetable, snooze_end, manual)
-- Returns: the new row, or none if it already existed.
INSERT INTO escalations (incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at, trigger)
VALUES ($1, $2, $3, 'PENDING', $4::timestamptz, $5::timestamptz, $5::timestamptz, $6)
ON CONFLICT (incident_id, repeat_cycle, escalation_level) WHERE status <> 'CANCELLED' DO NOTHING
RETURNING *;
