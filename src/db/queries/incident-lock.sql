-- Reads one incident and locks its row until the transaction ends. Every transition
-- and every execution takes this lock first, so they serialize per incident.
-- $1 incident id
-- Returns: the row, or none.
SELECT * FROM incidents WHERE id = $1 FOR UPDATE;
