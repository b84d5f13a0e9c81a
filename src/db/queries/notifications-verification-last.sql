-- How many verification codes were sent for a contact method, and when the last was
-- written (re-sends are limited to one a minute; the count numbers idempotency keys).
-- $1 contact method id
-- Returns: one row: sent (bigint), last_at (null when none).
SELECT count(*) AS sent, max(created_at) AS last_at
FROM notifications
WHERE contact_method_id = $1 AND type = 'verification';
