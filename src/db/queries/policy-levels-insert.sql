-- Writes a policy's levels.
-- $1 policy id, $2 levels (int[]), $3 delays in ms (bigint[])
-- Returns: nothing.
INSERT INTO escalation_policy_levels (policy_id, level, delay_ms)
SELECT $1, level, delay_ms FROM unnest($2::int[], $3::bigint[]) AS l (level, delay_ms);
