-- One contact method of a person, if it is still in use (a disabled one reads as missing).
-- $1 user id, $2 contact method id
-- Returns: the row, or none.
SELECT * FROM contact_methods
WHERE user_id = $1 AND id = $2 AND disabled_at IS NULL;
