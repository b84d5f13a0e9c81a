-- Reads one team (its members: teams-members).
-- $1 team id
-- Returns: the row, or none.
SELECT * FROM teams WHERE id = $1;
