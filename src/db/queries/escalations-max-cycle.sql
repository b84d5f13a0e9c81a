-- The highest repeat cycle used by an incident's escalations (-1 if none).
-- $1 incident id
-- Returns: max_cycle.
SELECT coalesce(max(repeat_cycle), -1) AS max_cycle FROM escalations WHERE incident_id = $1;
