-- Reads one user and locks it until the transaction ends, for an edit or a delete
-- (a row that refers to the user meanwhile waits for the lock).
-- $1 user id
-- Returns: the row, or none.
SELECT * FROM users WHERE id = $1 FOR UPDATE;
