-- Starts a verification: stores the SHA-256 of the code sent and until when it holds,
-- and clears the wrong guesses. The caller holds the method's row lock.
-- $1 contact method id, $2 code hash (hex), $3 expiry, $4 now
-- Returns: the updated row.
UPDATE contact_methods
SET verification_code_hash = $2, verification_expires_at = $3::timestamptz,
    verification_attempts = 0, updated_at = $4::timestamptz
WHERE id = $1
RETURNING *;
