-- Where one notification stands.
-- $1 id
-- Returns: status (none when it does not exist).
SELECT status FROM notifications WHERE id = $1::uuid;
