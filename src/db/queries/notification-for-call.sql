-- A voice notification as its call needs it when answered: the row, and the person and
-- the incident as they are now (the call re-checks the incident), in the names the
-- notifier's message builder reads (src/notify/messages.ts ClaimedRow).
-- $1 notification id
-- Returns: at most one row.
SELECT n.*,
       u.name AS user_name,
       i.title AS incident_title, i.severity AS incident_severity, i.state AS incident_state,
       s.name AS service_name
FROM notifications n
JOIN users u ON u.id = n.user_id
LEFT JOIN incidents i ON i.id = n.incident_id
LEFT JOIN services s ON s.id = i.service_id
WHERE n.id = $1 AND n.channel = 'voice';
