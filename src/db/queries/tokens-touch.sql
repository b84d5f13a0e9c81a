-- Records that a token was used (the caller does this at most once a minute per token).
-- $1 token id, $2 now
-- Returns: nothing.
UPDATE api_tokens SET last_used_at = $2::timestamptz
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz);
