-- Locks one contact method of a person that is still in use, for an edit or a
-- verification step (two verification requests for a method take turns).
-- $1 user id, $2 contact method id
-- Returns: the row, or none.
SELECT * FROM contact_methods
WHERE user_id = $1 AND id = $2 AND disabled_at IS NULL
FOR UPDATE;
