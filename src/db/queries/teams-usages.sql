-- What keeps a team from being deleted: the escalation policies that target it
-- (ON DELETE RESTRICT).
-- $1 team id, $2 how many rows at most
-- Returns: kind ('escalation policy'), id and name of the policy; by name.
SELECT 'escalation policy' AS kind, p.id, p.name
FROM escalation_policies p
WHERE p.id IN (SELECT policy_id FROM escalation_policy_targets WHERE team_id = $1)
ORDER BY lower(p.name), p.id
LIMIT $2;
