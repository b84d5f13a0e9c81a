-- Adds a notification rule (the caller checked, under the method's row lock, that the
-- method is the person's and enabled). A duplicate (same method and delay) writes nothing.
-- $1 user id, $2 contact method id, $3 delay in ms, $4 now
-- Returns: the new rule, or none when it already existed.
INSERT INTO notification_rules (user_id, contact_method_id, delay_ms, created_at)
VALUES ($1, $2, $3, $4::timestamptz)
ON CONFLICT (contact_method_id, delay_ms) DO NOTHING
RETURNING *;
