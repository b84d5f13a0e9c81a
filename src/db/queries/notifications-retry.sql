-- `klaxon notification retry`: a FAILED notification is tried again as a NEW row (rows
-- only move forward: the failed one stays FAILED, with its attempts), due now, keyed
-- <the original key>:retry:<n>; wakes the notifiers (NOTIFY, delivered at COMMIT).
-- $1 the failed notification's id, $2 now
-- Returns: id of the new row (none when $1 is not FAILED).
WITH failed AS (
  SELECT n.*, split_part(n.idempotency_key, ':retry:', 1) AS base FROM notifications n WHERE n.id = $1::uuid AND n.status = 'FAILED'
),
numbered AS (
  SELECT f.*, (SELECT count(*) FROM notifications o
               WHERE o.user_id = f.user_id AND left(o.idempotency_key, length(f.base) + 7) = f.base || ':retry:') + 1 AS n
  FROM failed f
),
inserted AS (
  INSERT INTO notifications (idempotency_key, type, incident_id, escalation_id, level, user_id, contact_method_id, rule_id,
                             channel, destination, due_at, next_attempt_at, payload, committed_at, created_at)
  SELECT f.base || ':retry:' || f.n, f.type, f.incident_id, f.escalation_id, f.level, f.user_id, f.contact_method_id, f.rule_id,
         f.channel, f.destination, $2::timestamptz, $2::timestamptz, f.payload, $2::timestamptz, $2::timestamptz
  FROM numbered f
  RETURNING id
)
SELECT inserted.id, pg_notify('klaxon_notifications', '') AS notified FROM inserted;
