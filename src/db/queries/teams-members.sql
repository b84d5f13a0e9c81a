-- The members of some teams, in their order.
-- $1 team ids (uuid[])
-- Returns: team_id, and the member's id, name and email; by team, then position.
SELECT m.team_id, u.id, u.name, u.email
FROM team_members m
JOIN users u ON u.id = m.user_id
WHERE m.team_id = ANY($1::uuid[])
ORDER BY m.team_id, m.position;
