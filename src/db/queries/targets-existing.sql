-- Which of these targets exist, with the team each belongs to (users: none, they are
-- shared by every team; a schedule: its team; a team: itself), so that the caller can
-- refuse another team's.
-- $1 user ids (uuid[]), $2 schedule ids (uuid[]), $3 team ids (uuid[])
-- Returns: type, id, team_id of the ones that exist.
SELECT 'user' AS type, id, NULL::uuid AS team_id FROM users WHERE id = ANY($1::uuid[])
UNION ALL SELECT 'schedule', id, team_id FROM schedules WHERE id = ANY($2::uuid[])
UNION ALL SELECT 'team', id, id FROM teams WHERE id = ANY($3::uuid[]);
