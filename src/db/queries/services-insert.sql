-- Creates a service.
-- $1 name, $2 description (nullable), $3 escalation policy id (nullable: the default
-- policy), $4 now, $5 team id (nullable: organisation-wide), $6 auto_escalate (boolean)
-- Returns: the new service row.
INSERT INTO services (name, description, escalation_policy_id, created_at, updated_at, team_id, auto_escalate)
VALUES ($1, $2, $3, $4::timestamptz, $4::timestamptz, $5::uuid, $6::boolean)
RETURNING *;
