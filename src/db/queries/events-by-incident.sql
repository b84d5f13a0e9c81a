-- An incident's audit log, oldest first.
-- $1 incident id
-- Returns: the rows.
SELECT * FROM incident_events WHERE incident_id = $1 ORDER BY id;
