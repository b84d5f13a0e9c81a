-- Marks a notification read, once: an already read one keeps its first read_at (and
-- is not written again).
-- $1 notification id, $2 now
-- Returns: the row's id if it was marked now, or none.
UPDATE notifications SET read_at = $2::timestamptz
WHERE id = $1 AND read_at IS NULL
RETURNING id;
