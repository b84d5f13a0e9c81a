-- Freezes the policy an incident follows (when it first starts escalating).
-- $1 incident id, $2 policy id (null for the default policy), $3 policy version, $4 snapshot (jsonb)
-- Returns: nothing.
UPDATE incidents
SET policy_id = $2::uuid, policy_version = $3, policy_snapshot = $4::jsonb
WHERE id = $1;
