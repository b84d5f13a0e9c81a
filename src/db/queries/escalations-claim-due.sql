-- Degraded mode (Redis down) and --once: picks due PENDING escalations straight from
-- Postgres and locks their incidents, skipping incidents another worker or a
-- transition holds (they are taken care of there), so several workers share the
-- work without waiting on each other. The lock is held until the transaction ends.
-- Rows whose execution failed wait for their retry time, and quarantined ones are
-- left out altogether (escalation_failures; src/worker/batches.ts).
-- $1 now, $2 the most rows
-- Returns: the escalation ids, earliest due first.
SELECT e.id
FROM escalations e
JOIN incidents i ON i.id = e.incident_id
WHERE e.status = 'PENDING' AND e.scheduled_at <= $1::timestamptz
  AND NOT EXISTS (
    SELECT 1 FROM escalation_failures f
    WHERE f.escalation_id = e.id AND (f.quarantined_at IS NOT NULL OR f.retry_at > $1::timestamptz))
ORDER BY e.scheduled_at, e.id
LIMIT $2
FOR UPDATE OF i SKIP LOCKED;
