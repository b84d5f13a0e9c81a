-- One page of PENDING escalations in (scheduled_at, id) order, for the reconciler:
-- keyset pagination over the partial index, so a million rows never make one long
-- query.
-- $1 after scheduled_at (or null for the first page), $2 after id, $3 page size
-- Returns: id, scheduled_at.
SELECT id, scheduled_at
FROM escalations
WHERE status = 'PENDING'
  AND ($1::timestamptz IS NULL OR (scheduled_at, id) > ($1::timestamptz, $2::uuid))
ORDER BY scheduled_at, id
LIMIT $3;
