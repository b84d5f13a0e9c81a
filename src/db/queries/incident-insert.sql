-- Opens an incident in state OPEN.
-- $1 title, $2 description (nullable), $3 severity, $4 now, $5 service id (nullable),
-- $6 team id (nullable: organisation-wide)
-- Returns: the new incident row.
INSERT INTO incidents (title, description, severity, state, created_at, updated_at, service_id, team_id)
VALUES ($1, $2, $3, 'OPEN', $4::timestamptz, $4::timestamptz, $5::uuid, $6::uuid)
RETURNING *;
