-- One page of PENDING escalations in (scheduled_at, id) order, for the reconciler:
-- keyset pagination over the partial index, so a million rows never make one long
-- query. Quarantined rows stay out of the index; a row whose execution failed goes
-- in at its retry time. (Both are looked up per row by primary key, NOT EXISTS and a
-- subquery, not joined: a join made the planner scan and sort every pending row for
-- each page.)
-- $1 after scheduled_at (or null for the first page), $2 after id, $3 page size
-- Returns: id, scheduled_at (the keyset), due_at (its score in the index).
SELECT e.id, e.scheduled_at,
       greatest(e.scheduled_at, (SELECT f.retry_at FROM escalation_failures f WHERE f.escalation_id = e.id)) AS due_at
FROM escalations e
WHERE e.status = 'PENDING'
  AND ($1::timestamptz IS NULL OR (e.scheduled_at, e.id) > ($1::timestamptz, $2::uuid))
  AND NOT EXISTS (SELECT 1 FROM escalation_failures f WHERE f.escalation_id = e.id AND f.quarantined_at IS NOT NULL)
ORDER BY e.scheduled_at, e.id
LIMIT $3;
