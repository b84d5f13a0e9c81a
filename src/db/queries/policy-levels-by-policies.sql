-- The levels and targets of escalation policies, with each target's name.
-- $1 policy ids (uuid[])
-- Returns: one row per target (or per level without targets), in level and position order.
SELECT l.policy_id, l.level, l.delay_ms::float8 AS delay_ms, l.channels,
       t.target_type, coalesce(t.user_id, t.schedule_id, t.team_id) AS target_id,
       coalesce(u.name, s.name, tm.name) AS target_name
FROM escalation_policy_levels l
LEFT JOIN escalation_policy_targets t ON t.policy_id = l.policy_id AND t.level = l.level
LEFT JOIN users u ON u.id = t.user_id
LEFT JOIN schedules s ON s.id = t.schedule_id
LEFT JOIN teams tm ON tm.id = t.team_id
WHERE l.policy_id = ANY($1::uuid[])
ORDER BY l.policy_id, l.level, t.position;
