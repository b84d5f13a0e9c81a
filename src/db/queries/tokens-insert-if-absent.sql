-- Stores the token an operator gave in the environment, unless it is stored already.
-- $1 public id, $2 secret hash (bytea), $3 name, $4 scopes (text[]), $5 created via, $6 now
-- Returns: the new row, or none when a token with this public id exists.
INSERT INTO api_tokens (public_id, secret_hash, name, scopes, created_via, created_at)
VALUES ($1, $2, $3, $4::text[], $5, $6::timestamptz)
ON CONFLICT (public_id) DO NOTHING
RETURNING *;
