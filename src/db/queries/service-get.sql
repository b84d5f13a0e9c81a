-- Reads one service.
-- $1 service id
-- Returns: the row, or none.
SELECT * FROM services WHERE id = $1;
