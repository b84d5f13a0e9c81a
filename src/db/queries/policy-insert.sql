-- Creates an escalation policy (its levels are written by policy-levels-insert).
-- $1 name, $2 description, $3 repeat count, $4 now
-- Returns: the new row.
INSERT INTO escalation_policies (name, description, repeat_count, version, created_at, updated_at)
VALUES ($1, $2, $3, 1, $4::timestamptz, $4::timestamptz)
RETURNING *;
