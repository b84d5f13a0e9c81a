-- Writes a policy's levels.
-- $1 policy id, $2 levels (int[]), $3 delays in ms (bigint[]), $4 each level's channels
-- as a JSON array of channel kinds, or null for the people's own rules (text[])
-- Returns: nothing.
INSERT INTO escalation_policy_levels (policy_id, level, delay_ms, channels)
SELECT $1, level, delay_ms,
       CASE WHEN channels IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(channels::jsonb)) END
FROM unnest($2::int[], $3::bigint[], $4::text[]) AS l (level, delay_ms, channels);
