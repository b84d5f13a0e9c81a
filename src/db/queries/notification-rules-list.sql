-- A person's notification rules, by delay, then method position.
-- $1 user id
-- Returns: the rules (with the method's kind and position).
SELECT r.*, m.kind, m.position
FROM notification_rules r JOIN contact_methods m ON m.id = r.contact_method_id
WHERE r.user_id = $1
ORDER BY r.delay_ms, m.position, r.created_at, r.id;
