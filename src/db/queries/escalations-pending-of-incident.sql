-- The PENDING escalations of an incident, the next one first.
-- $1 incident id
-- Returns: the rows.
SELECT * FROM escalations
WHERE incident_id = $1 AND status = 'PENDING'
ORDER BY repeat_cycle, escalation_level;
