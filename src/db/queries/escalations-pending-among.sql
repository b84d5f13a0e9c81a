-- Which of these escalation ids belong in the Redis index: PENDING and not
-- quarantined (the reconciler drops the others). (unnest join: see escalations-by-ids.sql)
-- $1 escalation ids (uuid[])
-- Returns: id of those.
SELECT e.id
FROM unnest($1::uuid[]) AS ids (id)
JOIN escalations e ON e.id = ids.id
WHERE e.status = 'PENDING'
  AND NOT EXISTS (SELECT 1 FROM escalation_failures f WHERE f.escalation_id = e.id AND f.quarantined_at IS NOT NULL);
