-- When the next PENDING escalation may run: the earliest due time among the rows that
-- never failed (the partial index, first row), or a failed row's retry time, if
-- sooner. Quarantined rows never come due. (escalation_failures holds only the rows
-- that ever failed: a few.)
-- Returns: next_due, or null when nothing is pending.
SELECT min(due) AS next_due FROM (
  (SELECT e.scheduled_at AS due
   FROM escalations e
   WHERE e.status = 'PENDING' AND NOT EXISTS (SELECT 1 FROM escalation_failures f WHERE f.escalation_id = e.id)
   ORDER BY e.scheduled_at
   LIMIT 1)
  UNION ALL
  (SELECT greatest(e.scheduled_at, f.retry_at)
   FROM escalation_failures f
   JOIN escalations e ON e.id = f.escalation_id AND e.status = 'PENDING'
   WHERE f.quarantined_at IS NULL)
) AS candidates;
