-- Replaces an escalation policy's fields and bumps its version (its levels are
-- rewritten by the caller in the same transaction).
-- $1 policy id, $2 name, $3 description, $4 repeat count, $5 now
-- Returns: the updated row, or none.
UPDATE escalation_policies
SET name = $2, description = $3, repeat_count = $4, version = version + 1, updated_at = $5::timestamptz
WHERE id = $1
RETURNING *;
