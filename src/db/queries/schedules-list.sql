-- One page of schedule ids by name, of one team or of all. Keyset pagination on
-- (lower(name), id); the sort key comes from Postgres so the cursor compares exactly
-- as the index does.
-- $1 cursor sort key or null, $2 cursor id or null, $3 page size,
-- $4 team id, or null for every team's (an organisation-wide caller)
-- Returns: id, sort_key.
SELECT id, lower(name) AS sort_key FROM schedules
WHERE ($1::text IS NULL OR (lower(name), id) > ($1::text, $2::uuid))
  AND ($4::uuid IS NULL OR team_id = $4::uuid)
ORDER BY lower(name), id
LIMIT $3;
