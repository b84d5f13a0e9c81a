-- One page of teams by name, case-insensitively, then id. Keyset pagination: the
-- cursor is the (sort_key, id) of the last row of the previous page.
-- $1 cursor sort key or null, $2 cursor id or null, $3 page size, $4 the caller's team
-- id (it sees only that team) or null (every team)
-- Returns: the rows, plus sort_key (lower(name)).
SELECT teams.*, lower(name) AS sort_key
FROM teams
WHERE ($1::text IS NULL OR (lower(name), id) > ($1::text, $2::uuid))
  AND ($4::uuid IS NULL OR id = $4::uuid)
ORDER BY lower(name), id
LIMIT $3;
