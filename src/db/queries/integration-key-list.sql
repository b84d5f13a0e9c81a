-- One page of a service's integration keys (revoked ones too) by name,
-- case-insensitively, then id. Keyset pagination on (lower(name), id).
-- $1 cursor sort key or null, $2 cursor id or null, $3 page size, $4 service id
-- Returns: the rows, plus sort_key (lower(name)).
SELECT integration_keys.*, lower(name) AS sort_key
FROM integration_keys
WHERE service_id = $4
  AND ($1::text IS NULL OR (lower(name), id) > ($1::text, $2::uuid))
ORDER BY lower(name), id
LIMIT $3;
