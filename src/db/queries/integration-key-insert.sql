-- Stores a new integration key of a service (only the SHA-256 of the key, and its hint).
-- $1 service id, $2 name, $3 key hash (bytea, 32 bytes), $4 key hint, $5 rate per
-- minute or null (the configured default), $6 rate burst or null, $7 signing secret or
-- null, $8 created by (who, in words), $9 now
-- Returns: the new row, with team_id (its service's team).
INSERT INTO integration_keys (service_id, name, key_hash, key_hint, rate_per_minute, rate_burst, signing_secret, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz)
RETURNING integration_keys.*, (SELECT team_id FROM services WHERE services.id = integration_keys.service_id) AS team_id;
