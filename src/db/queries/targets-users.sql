-- Users by id, with what a page needs.
-- $1 user ids (uuid[])
-- Returns: id, name, email, phone.
SELECT id, name, email, phone FROM users WHERE id = ANY($1::uuid[]);
