-- Writes a policy's targets.
-- $1 policy id, $2 levels (int[]), $3 positions (int[]), $4 target types (text[]), $5 target ids (uuid[])
-- Returns: nothing.
INSERT INTO escalation_policy_targets (policy_id, level, position, target_type, user_id, schedule_id, team_id)
SELECT $1, t.level, t.position, t.target_type,
       CASE WHEN t.target_type = 'user' THEN t.target_id END,
       CASE WHEN t.target_type = 'schedule' THEN t.target_id END,
       CASE WHEN t.target_type = 'team' THEN t.target_id END
FROM unnest($2::int[], $3::int[], $4::text[], $5::uuid[]) AS t (level, position, target_type, target_id);
