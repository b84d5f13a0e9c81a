-- One page of a person's notifications, every channel, newest first. Keyset pagination
-- on (created_at, id), the cursor's created_at at full microsecond precision.
-- $1 user id, $2 cursor created_at or null, $3 cursor id or null, $4 page size,
-- $5 team id or null: a team's caller sees only notifications about its team's incidents
-- Returns: the rows with the incident's title, plus cursor_created_at.
SELECT n.id, n.type, n.channel, n.status, n.incident_id, n.level, n.contact_method_id, n.reason,
       n.created_at, n.sent_at, n.read_at, i.title AS incident_title,
       to_json(n.created_at) #>> '{}' AS cursor_created_at
FROM notifications n
LEFT JOIN incidents i ON i.id = n.incident_id
WHERE n.user_id = $1
  AND ($2::timestamptz IS NULL OR (n.created_at, n.id) < ($2::timestamptz, $3::uuid))
  AND ($5::uuid IS NULL OR i.team_id = $5::uuid)
ORDER BY n.created_at DESC, n.id DESC
LIMIT $4;
