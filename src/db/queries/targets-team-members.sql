-- The members of some teams, in team order.
-- $1 team ids (uuid[])
-- Returns: team_id, user_id.
SELECT team_id, user_id FROM team_members WHERE team_id = ANY($1::uuid[]) ORDER BY team_id, position;
