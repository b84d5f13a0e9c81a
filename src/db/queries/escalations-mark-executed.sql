-- Marks escalations EXECUTED, only those still PENDING: a row that another worker
-- executed or a transition cancelled meanwhile is left alone and not returned.
-- $1 escalation ids (uuid[]), $2 now
-- Returns: the ids actually marked.
UPDATE escalations
SET status = 'EXECUTED', executed_at = $2::timestamptz, updated_at = $2::timestamptz
WHERE id = ANY($1::uuid[]) AND status = 'PENDING'
RETURNING id;
