-- One page of escalation policies by name. Keyset pagination on (lower(name), id).
-- $1 cursor name (lower-cased) or null, $2 cursor id or null, $3 page size
-- Returns: the policy rows.
SELECT * FROM escalation_policies
WHERE $1::text IS NULL OR (lower(name), id) > ($1::text, $2::uuid)
ORDER BY lower(name), id
LIMIT $3;
