-- Reads one incident.
-- $1 incident id
-- Returns: the row, or none.
SELECT * FROM incidents WHERE id = $1;
