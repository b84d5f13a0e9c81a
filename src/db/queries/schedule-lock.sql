-- Locks a schedule row (replacements and deletes of one schedule serialize).
-- $1 schedule id
-- Returns: id, team_id, or none.
SELECT id, team_id FROM schedules WHERE id = $1 FOR UPDATE;
