-- Marks escalations CANCELLED, only those still PENDING.
-- $1 escalation ids (uuid[]), $2 now
-- Returns: the ids actually marked.
UPDATE escalations
SET status = 'CANCELLED', cancelled_at = $2::timestamptz, updated_at = $2::timestamptz
WHERE id = ANY($1::uuid[]) AND status = 'PENDING'
RETURNING id;
