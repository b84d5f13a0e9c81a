-- Which of these escalation ids are PENDING (the reconciler drops the others from Redis).
-- $1 escalation ids (uuid[])
-- Returns: id of the PENDING ones.
SELECT id FROM escalations WHERE id = ANY($1::uuid[]) AND status = 'PENDING';
