-- Creates a team (its members are added by teams-add-members).
-- $1 name, $2 now
-- Returns: the new team row.
INSERT INTO teams (name, created_at, updated_at)
VALUES ($1, $2::timestamptz, $2::timestamptz)
RETURNING *;
