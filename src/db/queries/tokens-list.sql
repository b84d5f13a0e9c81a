-- One page of tokens by name, case-insensitively, then id; a team's caller sees only
-- its team's tokens. Keyset pagination on (lower(name), id).
-- $1 cursor sort key or null, $2 cursor id or null, $3 page size, $4 team id or null (every team)
-- Returns: the rows, plus sort_key (lower(name)).
SELECT api_tokens.*, lower(name) AS sort_key
FROM api_tokens
WHERE ($1::text IS NULL OR (lower(name), id) > ($1::text, $2::uuid))
  AND ($4::uuid IS NULL OR team_id = $4::uuid)
ORDER BY lower(name), id
LIMIT $3;
