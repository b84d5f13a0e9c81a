-- Reads one token.
-- $1 token id
-- Returns: the row, or none.
SELECT * FROM api_tokens WHERE id = $1;
