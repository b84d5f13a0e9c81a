-- The earliest due time among PENDING escalations (served by the partial index).
-- Returns: next_due, or null when nothing is pending.
SELECT min(scheduled_at) AS next_due FROM escalations WHERE status = 'PENDING';
