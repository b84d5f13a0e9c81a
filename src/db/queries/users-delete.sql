-- Deletes a user; their team memberships go with them (ON DELETE CASCADE).
-- $1 user id
-- Returns: nothing.
DELETE FROM users WHERE id = $1;
