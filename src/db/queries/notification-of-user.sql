-- One of a person's notifications, as the list shows it.
-- $1 user id, $2 notification id, $3 team id or null (a team's caller sees only
-- notifications about its team's incidents)
-- Returns: the row with the incident's title, or none.
SELECT n.id, n.type, n.channel, n.status, n.incident_id, n.level, n.contact_method_id, n.reason,
       n.created_at, n.sent_at, n.read_at, i.title AS incident_title
FROM notifications n
LEFT JOIN incidents i ON i.id = n.incident_id
WHERE n.user_id = $1 AND n.id = $2
  AND ($3::uuid IS NULL OR i.team_id = $3::uuid);
