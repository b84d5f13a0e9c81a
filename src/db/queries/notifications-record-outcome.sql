-- Records one attempt and what it made of the notification, in one statement, guarded
-- by the claim: a notifier whose lease was taken over (it stalled; another claimed the
-- row again, claim + 1) changes nothing, not even the attempts log.
-- $1 id, $2 claim, $3 status (SENT: sent; PENDING: to retry at $4; FAILED), $4 next
-- attempt at (PENDING) , $5 provider message id, $6 reason (null when sent), $7 attempt
-- started at, $8 finished at, $9 latency ms, $10 outcome (sent | transient | permanent |
-- timeout), $11 error
-- Returns: id, attempt (none when the claim was lost).
WITH updated AS (
  UPDATE notifications
  SET status = $3::text,
      next_attempt_at = CASE WHEN $3::text = 'PENDING' THEN $4::timestamptz ELSE next_attempt_at END,
      lease_until = NULL,
      provider_message_id = coalesce($5, provider_message_id),
      reason = $6,
      sent_at = CASE WHEN $3::text = 'SENT' THEN $8::timestamptz END,
      finished_at = CASE WHEN $3::text = 'PENDING' THEN NULL ELSE $8::timestamptz END
  WHERE id = $1::uuid AND claim = $2::int AND status = 'PENDING'
  RETURNING id, attempts, channel
),
attempt AS (
  INSERT INTO notification_attempts (notification_id, attempt, channel, started_at, finished_at, latency_ms, outcome,
                                     provider_message_id, error)
  SELECT id, attempts, channel, $7::timestamptz, $8::timestamptz, $9::float8, $10::text, $5, $11
  FROM updated
  RETURNING notification_id
)
SELECT u.id, u.attempts AS attempt FROM updated u;
