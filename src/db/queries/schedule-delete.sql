-- Deletes a schedule (its members and overrides cascade).
-- $1 schedule id
-- Returns: the id, or none.
DELETE FROM schedules WHERE id = $1 RETURNING id;
