-- Deletes a team and its member list (ON DELETE CASCADE); the users stay.
-- $1 team id
-- Returns: nothing.
DELETE FROM teams WHERE id = $1;
