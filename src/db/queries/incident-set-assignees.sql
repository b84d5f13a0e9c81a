-- Reassigns an incident to these people.
-- $1 incident id, $2 assignees (jsonb), $3 now
-- Returns: nothing.
UPDATE incidents
SET assignees = $2::jsonb, updated_at = $3::timestamptz, version = version + 1
WHERE id = $1;
