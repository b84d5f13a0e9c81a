-- Which of these escalation ids are PENDING (the reconciler drops the others from
-- Redis). (unnest join: see escalations-by-ids.sql)
-- $1 escalation ids (uuid[])
-- Returns: id of the PENDING ones.
SELECT e.id FROM unnest($1::uuid[]) AS ids (id) JOIN escalations e ON e.id = ids.id WHERE e.status = 'PENDING';
