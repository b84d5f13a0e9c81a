-- Which of these users exist, each locked FOR KEY SHARE so that it cannot be deleted
-- before the caller's transaction ends.
-- $1 user ids (uuid[])
-- Returns: id, one row per user that exists.
SELECT id FROM users WHERE id = ANY($1::uuid[]) FOR KEY SHARE;
