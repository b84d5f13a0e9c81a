-- Counts a wrong guess; at the last one allowed the code is void (hash and expiry
-- cleared, the count kept: "void" rather than "never asked for").
-- $1 contact method id, $2 the guesses allowed, $3 now
-- Returns: the updated row.
UPDATE contact_methods
SET verification_attempts = verification_attempts + 1,
    verification_code_hash  = CASE WHEN verification_attempts + 1 >= $2 THEN NULL ELSE verification_code_hash END,
    verification_expires_at = CASE WHEN verification_attempts + 1 >= $2 THEN NULL ELSE verification_expires_at END,
    updated_at = $3::timestamptz
WHERE id = $1
RETURNING *;
