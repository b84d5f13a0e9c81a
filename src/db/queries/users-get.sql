-- Reads one user.
-- $1 user id
-- Returns: the row, or none.
SELECT * FROM users WHERE id = $1;
