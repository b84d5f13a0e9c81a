-- What opening or escalating an incident on a service needs of it (serviceToOpenOn,
-- src/commands/transition-incident.ts, for POST /incidents, an incident's first
-- escalation and intake's ServiceFactsCache): the service, and the policy an incident
-- opened now would freeze with its levels and targets, in one round trip and one
-- snapshot (a cold service's first alert waited for two, the second of them two
-- statements at once).
-- $1 service id
-- Returns: one row per target of each level, or per level without targets, in level and
-- position order; one row with null policy and level columns when the service has no
-- policy (or its policy no level); none when the service does not exist.
SELECT s.name, s.team_id, s.auto_escalate, s.escalation_policy_id,
       p.name AS policy_name, p.version AS policy_version, p.repeat_count AS policy_repeat_count,
       l.level, l.delay_ms::float8 AS delay_ms, l.channels,
       t.target_type, coalesce(t.user_id, t.schedule_id, t.team_id) AS target_id
FROM services s
LEFT JOIN escalation_policies p ON p.id = s.escalation_policy_id
LEFT JOIN escalation_policy_levels l ON l.policy_id = p.id
LEFT JOIN escalation_policy_targets t ON t.policy_id = l.policy_id AND t.level = l.level
WHERE s.id = $1
ORDER BY l.level, t.position;
