-- Revokes a token from now on; a token revoked before keeps its first revocation time.
-- $1 token id, $2 now
-- Returns: the row as it is now, or none.
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2::timestamptz) WHERE id = $1 RETURNING *;
