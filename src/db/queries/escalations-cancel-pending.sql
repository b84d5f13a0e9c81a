-- Cancels every PENDING escalation of an incident (it left OPEN or ESCALATING).
-- $1 incident id, $2 now
-- Returns: the ids of the cancelled rows.
UPDATE escalations
SET status = 'CANCELLED', cancelled_at = $2::timestamptz, updated_at = $2::timestamptz
WHERE incident_id = $1 AND status = 'PENDING'
RETURNING id;
