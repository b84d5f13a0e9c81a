-- Revokes a token from now on; a token revoked before keeps its first revocation time.
-- Announces it on the channel named by $3 (NOTIFY, sent when the transaction commits;
-- every API process listens: src/auth/revocations.ts), with the token's id.
-- $1 token id, $2 now, $3 the channel
-- Returns: the row as it is now, or none.
WITH revoked AS (
  UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2::timestamptz) WHERE id = $1 RETURNING *
)
SELECT revoked.* FROM revoked CROSS JOIN LATERAL pg_notify($3::text, revoked.id::text) AS notified;
