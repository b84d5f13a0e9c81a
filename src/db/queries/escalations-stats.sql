-- Operational figures on the PENDING escalations.
-- $1 now
-- Returns: pending, overdue (due and not executed), oldest_due (earliest due time of
-- the overdue ones), quarantined (PENDING rows kept out of batches after their
-- execution failed too often; counted in pending and overdue too).
SELECT count(*) AS pending,
       count(*) FILTER (WHERE scheduled_at <= $1::timestamptz) AS overdue,
       min(scheduled_at) FILTER (WHERE scheduled_at <= $1::timestamptz) AS oldest_due,
       (SELECT count(*)
        FROM escalation_failures f
        JOIN escalations q ON q.id = f.escalation_id AND q.status = 'PENDING'
        WHERE f.quarantined_at IS NOT NULL) AS quarantined
FROM escalations
WHERE status = 'PENDING';
