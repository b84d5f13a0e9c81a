-- The code was right: the method is verified, the code spent.
-- $1 contact method id, $2 now
-- Returns: the updated row.
UPDATE contact_methods
SET verified_at = $2::timestamptz, verification_code_hash = NULL, verification_expires_at = NULL,
    verification_attempts = 0, updated_at = $2::timestamptz
WHERE id = $1
RETURNING *;
