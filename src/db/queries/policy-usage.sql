-- What uses an escalation policy: services that own it, and incidents still live on it.
-- $1 policy id
-- Returns: kind ('service' or 'incident'), id, name.
SELECT 'service' AS kind, id, name FROM services WHERE escalation_policy_id = $1
UNION ALL
SELECT 'incident', id, title FROM incidents
WHERE policy_id = $1 AND state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED')
LIMIT 20;
