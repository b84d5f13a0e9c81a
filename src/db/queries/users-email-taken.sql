-- Another user with this email, compared case-insensitively (as the unique index does).
-- $1 email, $2 the id of the user being edited, or null
-- Returns: that user's id, or none.
SELECT id FROM users WHERE lower(email) = lower($1) AND id IS DISTINCT FROM $2::uuid LIMIT 1;
