-- What keeps a team from being deleted: the escalation policies that target it
-- (ON DELETE RESTRICT).
-- $1 team id, $2 how many rows at most
-- Returns: type (escalation_policy), id and name of the policy, and total (how many
-- there are in all); by name.
SELECT 'escalation_policy' AS type, p.id, p.name, (count(*) OVER ())::integer AS total
FROM escalation_policies p
WHERE p.id IN (SELECT policy_id FROM escalation_policy_targets WHERE team_id = $1)
ORDER BY lower(p.name), p.id
LIMIT $2;
