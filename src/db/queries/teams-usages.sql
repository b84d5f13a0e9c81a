-- What keeps a team from being deleted (all ON DELETE RESTRICT): the escalation
-- policies that target it, and the records it owns (services, policies, schedules,
-- incidents, API tokens; incidents and tokens are never deleted, so a team that had
-- any stays).
-- $1 team id, $2 how many rows at most
-- Returns: kind, id and name of each; policies that target it first, then by kind and name.
SELECT kind, id, name FROM (
 SELECT 'escalation policy' AS kind, p.id, p.name, 0 AS rank
 FROM escalation_policies p
 WHERE p.id IN (SELECT policy_id FROM escalation_policy_targets WHERE team_id = $1)
 UNION ALL SELECT 'service', id, name, 1 FROM services WHERE team_id = $1
 UNION ALL SELECT 'escalation policy', id, name, 2 FROM escalation_policies WHERE team_id = $1
 UNION ALL SELECT 'schedule', id, name, 3 FROM schedules WHERE team_id = $1
 UNION ALL (SELECT 'incident', id, title, 4 FROM incidents WHERE team_id = $1 LIMIT $2)
 UNION ALL SELECT 'API token', id, name, 5 FROM api_tokens WHERE team_id = $1
) usages
ORDER BY rank, lower(name), id
LIMIT $2;
