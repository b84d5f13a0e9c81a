-- Snoozes an acknowledged incident until a time.
-- $1 incident id, $2 snoozed until, $3 now
-- Returns: nothing.
UPDATE incidents
SET snoozed_until = $2::timestamptz, updated_at = $3::timestamptz, version = version + 1
WHERE id = $1;
