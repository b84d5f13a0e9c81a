-- Stores a new API token (only the hash of its secret).
-- $1 public id, $2 secret hash (bytea), $3 name, $4 scopes (text[]), $5 team id or null,
-- $6 expires at or null, $7 created by (token id) or null, $8 created via, $9 now
-- Returns: the new row.
INSERT INTO api_tokens (public_id, secret_hash, name, scopes, team_id, expires_at, created_by, created_via, created_at)
VALUES ($1, $2, $3, $4::text[], $5, $6::timestamptz, $7, $8, $9::timestamptz)
RETURNING *;
