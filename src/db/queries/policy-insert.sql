-- Creates an escalation policy (its levels are written by policy-levels-insert).
-- $1 name, $2 description, $3 repeat count, $4 now, $5 team id or null (organisation-wide)
-- Returns: the new row.
INSERT INTO escalation_policies (name, description, repeat_count, version, created_at, updated_at, team_id)
VALUES ($1, $2, $3, 1, $4::timestamptz, $4::timestamptz, $5::uuid)
RETURNING *;
