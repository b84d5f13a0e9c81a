-- Every escalation of an incident, in the order they were meant to fire.
-- $1 incident id
-- Returns: the rows.
SELECT * FROM escalations
WHERE incident_id = $1
ORDER BY repeat_cycle, escalation_level, created_at;
