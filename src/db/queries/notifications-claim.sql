-- A notifier claims due outbox rows (issue 11), in its own short transaction: locks them
-- (SKIP LOCKED: concurrent notifiers take disjoint rows, never wait on each other), and
-- in the same statement re-checks the incident: an escalation notification whose
-- incident no longer escalates (acknowledged, snoozed, resolved, cancelled) becomes
-- SKIPPED with the reason. The others are leased: claim + 1 (the fencing token the
-- outcome's write must quote), attempts + 1, and next_attempt_at moved to the lease's
-- end, so a notifier that dies mid-send hands the row back when its lease runs out.
-- $1 now, $2 how many, $3 the lease's end, $4 start of the per-method throttle window,
-- $5 start of the per-destination minute
-- Returns: every claimed row (skipped ones with status SKIPPED) with what sending needs:
-- the person's name, the incident's title, severity, state and service, `throttled`
-- (an escalation notification on the same method and incident was sent, or folded
-- into a digest, within the window) and `destination_recent` (escalation notifications created in the last minute
-- and sent to the same channel and destination).
WITH due AS (
  SELECT n.id
  FROM notifications n
  WHERE n.status = 'PENDING' AND n.next_attempt_at <= $1::timestamptz
  ORDER BY n.next_attempt_at, n.id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
),
checked AS (
  SELECT d.id,
         CASE WHEN n.type = 'escalation' AND i.state <> 'ESCALATING' THEN
           'incident ' || CASE WHEN i.state = 'ACKNOWLEDGED' AND i.snoozed_until IS NOT NULL THEN 'snoozed' ELSE lower(i.state) END
         END AS skip_reason
  FROM due d
  JOIN notifications n ON n.id = d.id
  LEFT JOIN incidents i ON i.id = n.incident_id
),
updated AS (
  UPDATE notifications n
  SET status = CASE WHEN c.skip_reason IS NULL THEN 'PENDING' ELSE 'SKIPPED' END,
      reason = coalesce(c.skip_reason, n.reason),
      finished_at = CASE WHEN c.skip_reason IS NULL THEN NULL ELSE $1::timestamptz END,
      claim = n.claim + 1,
      attempts = CASE WHEN c.skip_reason IS NULL THEN n.attempts + 1 ELSE n.attempts END,
      lease_until = CASE WHEN c.skip_reason IS NULL THEN $3::timestamptz END,
      next_attempt_at = CASE WHEN c.skip_reason IS NULL THEN $3::timestamptz ELSE n.next_attempt_at END
  FROM checked c
  WHERE n.id = c.id
  RETURNING n.*
)
SELECT u.id, u.idempotency_key, u.type, u.incident_id, u.escalation_id, u.level, u.user_id, u.contact_method_id,
       u.channel, u.destination, u.status, u.reason, u.due_at, u.attempts, u.claim, u.reply_code, u.payload,
       u.committed_at, u.created_at,
       p.name AS user_name,
       i.title AS incident_title, i.severity AS incident_severity, i.state AS incident_state, s.name AS service_name,
       (u.status = 'PENDING' AND u.type = 'escalation' AND EXISTS (
         SELECT 1 FROM notifications o
         WHERE o.contact_method_id = u.contact_method_id AND o.incident_id = u.incident_id AND o.type = 'escalation'
           -- A folded one counts too: the digest already tells the person about this incident.
           AND ((o.status = 'SENT' AND o.sent_at > $4::timestamptz) OR (o.status = 'FOLDED' AND o.finished_at > $4::timestamptz))
           AND o.id <> u.id
       )) AS throttled,
       CASE WHEN u.status = 'PENDING' AND u.type = 'escalation' AND u.channel <> 'in_app' THEN (
         SELECT count(*) FROM notifications o
         WHERE o.channel = u.channel AND o.destination = u.destination AND o.created_at >= $5::timestamptz
           AND o.type = 'escalation' AND o.status = 'SENT'
       ) ELSE 0 END::int AS destination_recent
FROM updated u
JOIN users p ON p.id = u.user_id
LEFT JOIN incidents i ON i.id = u.incident_id
LEFT JOIN services s ON s.id = i.service_id
ORDER BY u.due_at, u.id;
