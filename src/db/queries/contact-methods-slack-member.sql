-- The person a Slack member id belongs to: an enabled slack contact method with that
-- address (Slack member ids are upper case; compared as stored). Two people claiming the
-- same member id is a misconfiguration: the earliest claim wins, so the answer is stable.
-- $1 Slack member id (U... or W...)
-- Returns: at most one row: user_id, name.
SELECT u.id AS user_id, u.name
FROM contact_methods cm
JOIN users u ON u.id = cm.user_id
WHERE cm.kind = 'slack' AND cm.address = $1 AND cm.disabled_at IS NULL
ORDER BY cm.created_at, cm.id
LIMIT 1;
