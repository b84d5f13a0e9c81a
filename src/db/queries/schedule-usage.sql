-- The escalation policies that page a schedule.
-- $1 schedule id
-- Returns: kind ('escalation policy'), id, name.
SELECT DISTINCT 'escalation policy' AS kind, p.id, p.name
FROM escalation_policy_targets t JOIN escalation_policies p ON p.id = t.policy_id
WHERE t.schedule_id = $1;
