-- Operational figures on the PENDING escalations.
-- $1 now
-- Returns: pending, overdue (due and not executed), oldest_due (earliest due time of the overdue ones).
SELECT count(*) AS pending,
       count(*) FILTER (WHERE scheduled_at <= $1::timestamptz) AS overdue,
       min(scheduled_at) FILTER (WHERE scheduled_at <= $1::timestamptz) AS oldest_due
FROM escalations
WHERE status = 'PENDING';
