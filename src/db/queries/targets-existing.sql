-- Which of these targets exist.
-- $1 user ids (uuid[]), $2 schedule ids (uuid[]), $3 team ids (uuid[])
-- Returns: type, id of the ones that exist.
SELECT 'user' AS type, id FROM users WHERE id = ANY($1::uuid[])
UNION ALL SELECT 'schedule', id FROM schedules WHERE id = ANY($2::uuid[])
UNION ALL SELECT 'team', id FROM teams WHERE id = ANY($3::uuid[]);
