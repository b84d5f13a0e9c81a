-- Which of these teams exist, each locked FOR KEY SHARE so that it cannot be deleted
-- before the caller's transaction ends.
-- $1 team ids (uuid[])
-- Returns: id, one row per team that exists.
SELECT id FROM teams WHERE id = ANY($1::uuid[]) FOR KEY SHARE;
