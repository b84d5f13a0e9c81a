-- Reads one team and locks it until the transaction ends, for an edit or a delete.
-- $1 team id
-- Returns: the row, or none.
SELECT * FROM teams WHERE id = $1 FOR UPDATE;
