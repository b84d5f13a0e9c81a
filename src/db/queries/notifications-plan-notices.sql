-- The stop-paging notices of a transition (issue 11): an `acknowledged` or `resolved`
-- notice to every person paged for the incident so far, on each method a page reached
-- (or was being sent on: claimed and still PENDING), unless they turned that notice off
-- or the method is disabled since. Written in the transition's transaction; wakes the
-- notifiers (NOTIFY, delivered at COMMIT) when it wrote any.
-- $1 incident id, $2 type ('acknowledged' | 'resolved'), $3 now, $4 the incident's
-- version after the transition (one set of notices per transition: an incident
-- acknowledged again after a snooze notifies again), $5 payload (jsonb: who acted)
-- Returns: inserted (rows written).
WITH told AS (
  SELECT DISTINCT n.user_id, n.contact_method_id
  FROM notifications n
  WHERE n.incident_id = $1::uuid AND n.type = 'escalation'
    AND (n.status = 'SENT' OR (n.status = 'PENDING' AND n.attempts > 0))
),
inserted AS (
  INSERT INTO notifications (idempotency_key, type, incident_id, user_id, contact_method_id, channel, destination,
                             due_at, next_attempt_at, payload, committed_at, created_at)
  SELECT 'notice:' || $2::text || ':' || $1::uuid || ':' || t.user_id || ':' || t.contact_method_id || ':v' || $4::int,
         $2::text, $1::uuid, t.user_id, t.contact_method_id, cm.kind, cm.address,
         $3::timestamptz, $3::timestamptz, $5::jsonb, $3::timestamptz, $3::timestamptz
  FROM told t
  JOIN contact_methods cm ON cm.id = t.contact_method_id AND cm.disabled_at IS NULL
  JOIN users u ON u.id = t.user_id
  WHERE CASE $2::text WHEN 'acknowledged' THEN u.notify_on_acknowledged ELSE u.notify_on_resolved END
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id
)
SELECT (SELECT count(*) FROM inserted)::int AS inserted,
       (SELECT count(*) FROM (SELECT pg_notify('klaxon_notifications', '') WHERE EXISTS (SELECT 1 FROM inserted)) AS woken) > 0 AS notified;
