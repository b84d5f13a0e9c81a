-- Empties a team's member list (before teams-add-members sets the new one).
-- $1 team id
-- Returns: nothing.
DELETE FROM team_members WHERE team_id = $1;
