-- Deletes one of a person's notification rules (notifications that came from it keep
-- their row; their rule_id becomes null).
-- $1 user id, $2 rule id
-- Returns: the deleted rule's id, or none.
DELETE FROM notification_rules WHERE user_id = $1 AND id = $2 RETURNING id;
