-- Removes a policy's levels (and, by cascade, their targets) before they are rewritten.
-- $1 policy id
-- Returns: nothing.
DELETE FROM escalation_policy_levels WHERE policy_id = $1;
