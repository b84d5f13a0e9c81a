-- The token with this public id, to authenticate a request.
-- $1 public id
-- Returns: the row, or none.
SELECT * FROM api_tokens WHERE public_id = $1;
