-- Revokes an integration key from now on; a key revoked before keeps its first
-- revocation (time and who: the table's trigger refuses to change them). Announces it on
-- the channel named by $4 (NOTIFY, sent when the transaction commits; every API process
-- listens: src/auth/revocations.ts), with the key's id.
-- $1 key id, $2 now, $3 revoked by (who, in words), $4 the channel
-- Returns: the row as it is now, plus team_id (its service's), or none.
WITH revoked AS (
  UPDATE integration_keys
  SET revoked_at = coalesce(revoked_at, $2::timestamptz), revoked_by = coalesce(revoked_by, $3)
  WHERE id = $1
  RETURNING *
)
SELECT revoked.*, services.team_id
FROM revoked
JOIN services ON services.id = revoked.service_id
CROSS JOIN LATERAL pg_notify($4::text, revoked.id::text) AS notified;
