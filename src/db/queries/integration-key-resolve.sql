-- The live integration key with this hash, and its service's team: what intake needs to
-- act on an alert (src/auth/integration-keys.ts). One indexed read (key_hash is unique).
-- $1 key hash (bytea)
-- Returns: id, service_id, team_id, name, key_hint, rate_per_minute, rate_burst,
-- signing_secret; none when no key has this hash or it is revoked.
SELECT k.id, k.service_id, s.team_id, k.name, k.key_hint, k.rate_per_minute, k.rate_burst, k.signing_secret
FROM integration_keys k
JOIN services s ON s.id = k.service_id
WHERE k.key_hash = $1 AND k.revoked_at IS NULL;
