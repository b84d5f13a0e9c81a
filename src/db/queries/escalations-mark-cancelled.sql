-- Marks escalations CANCELLED, only those still PENDING. (unnest join: see escalations-by-ids.sql)
-- $1 escalation ids (uuid[]), $2 now
-- Returns: the ids actually marked.
UPDATE escalations AS e
SET status = 'CANCELLED', cancelled_at = $2::timestamptz, updated_at = $2::timestamptz
FROM unnest($1::uuid[]) AS ids (id)
WHERE e.id = ids.id AND e.status = 'PENDING'
RETURNING e.id;
