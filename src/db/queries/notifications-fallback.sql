-- After a notification FAILED (retries spent, or a permanent refusal): the person's next
-- contact method gets a row (issue 11), the first usable one by position that no row of
-- the same page (escalation and person) has used yet. Its key is the failed row's base
-- key (the page's original key) + ':fallback:<method>', so each method is tried at most
-- once per page, and a retried write is one row.
-- $1 the failed notification's id, $2 now
-- Returns: id of the fallback row (none when no method is left, or it was written already).
WITH failed AS (
  SELECT n.* FROM notifications n WHERE n.id = $1::uuid
),
next_method AS (
  SELECT cm.id, cm.kind, cm.address
  FROM failed f
  JOIN contact_methods cm ON cm.user_id = f.user_id
  WHERE cm.disabled_at IS NULL AND (cm.kind NOT IN ('sms', 'voice') OR cm.verified_at IS NOT NULL)
    AND NOT EXISTS (
      SELECT 1 FROM notifications o
      WHERE o.incident_id = f.incident_id AND o.user_id = f.user_id AND o.contact_method_id = cm.id
        AND o.type = 'escalation' AND o.escalation_id IS NOT DISTINCT FROM f.escalation_id
    )
  ORDER BY cm.position, cm.id
  LIMIT 1
)
INSERT INTO notifications (idempotency_key, type, incident_id, escalation_id, level, user_id, contact_method_id,
                           channel, destination, due_at, next_attempt_at, payload, committed_at, created_at)
SELECT split_part(f.idempotency_key, ':fallback:', 1) || ':fallback:' || m.id,
       f.type, f.incident_id, f.escalation_id, f.level, f.user_id, m.id, m.kind, m.address,
       $2::timestamptz, $2::timestamptz, f.payload, f.committed_at, $2::timestamptz
FROM failed f, next_method m
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id;
