-- Renames a team and stamps the edit (the caller holds the row lock).
-- $1 team id, $2 new name or null to keep it, $3 now
-- Returns: the updated row.
UPDATE teams
SET name = coalesce($2, name), updated_at = $3::timestamptz
WHERE id = $1
RETURNING *;
