-- Disables a contact method (never deleted: notifications refer to it) and drops the
-- rules that used it, in one statement. The caller holds the method's row lock.
-- $1 contact method id, $2 now
-- Returns: the disabled row.
WITH rules AS (
  DELETE FROM notification_rules WHERE contact_method_id = $1
)
UPDATE contact_methods
SET disabled_at = $2::timestamptz, updated_at = $2::timestamptz,
    verification_code_hash = NULL, verification_expires_at = NULL
WHERE id = $1
RETURNING *;
