-- When the next PENDING notification becomes claimable (the notifier sleeps until then).
-- No parameters.
-- Returns: at (null when nothing is pending).
SELECT min(next_attempt_at) AS at FROM notifications WHERE status = 'PENDING';
