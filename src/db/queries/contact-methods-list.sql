-- A person's contact methods still in use (disabled ones are kept for the notifications
-- that name them, and shown nowhere), in the order fallbacks follow.
-- $1 user id
-- Returns: the rows, by position, then age.
SELECT * FROM contact_methods
WHERE user_id = $1 AND disabled_at IS NULL
ORDER BY position, created_at, id;
