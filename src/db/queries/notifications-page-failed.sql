-- Whether every notification of one page (escalation and person) FAILED: none SENT,
-- none still PENDING, none skipped (a skip is not a failure: the incident moved on).
-- Then the notifier records `notification_failed` on the incident.
-- $1 a failed notification's id
-- Returns: one row when the whole page failed: incident_id, incident state, escalation_id,
-- level, user_id, and the failed rows (jsonb: notification_id, channel, destination, reason).
WITH failed AS (
  SELECT n.* FROM notifications n WHERE n.id = $1::uuid
),
page AS (
  SELECT o.*
  FROM failed f
  JOIN notifications o ON o.incident_id = f.incident_id AND o.user_id = f.user_id AND o.type = 'escalation'
   AND o.escalation_id IS NOT DISTINCT FROM f.escalation_id
)
SELECT f.incident_id, i.state AS incident_state, f.escalation_id, f.level, f.user_id,
       (SELECT jsonb_agg(jsonb_build_object('notification_id', p.id, 'channel', p.channel, 'destination', p.destination, 'reason', p.reason)
                         ORDER BY p.created_at, p.id)
        FROM page p) AS failed
FROM failed f
JOIN incidents i ON i.id = f.incident_id
WHERE f.status = 'FAILED' AND NOT EXISTS (SELECT 1 FROM page p WHERE p.status <> 'FAILED');
