-- Reads one service and locks it until the transaction ends, for an edit or a delete
-- (an incident opened for it meanwhile waits for the lock).
-- $1 service id
-- Returns: the row, or none.
SELECT * FROM services WHERE id = $1 FOR UPDATE;
