-- One page of incidents, newest first, optionally in one state. Keyset pagination:
-- the cursor is the (created_at, id) of the last row of the previous page, with
-- created_at at full microsecond precision (cursor_created_at) so no row is skipped.
-- $1 state or null, $2 cursor created_at or null, $3 cursor id or null, $4 page size,
-- $5 team id or null (every team)
-- Returns: the rows, plus cursor_created_at.
SELECT incidents.*, to_json(created_at) #>> '{}' AS cursor_created_at
FROM incidents
WHERE ($1::text IS NULL OR state = $1::text)
  AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
  AND ($5::uuid IS NULL OR team_id = $5::uuid)
ORDER BY created_at DESC, id DESC
LIMIT $4;
