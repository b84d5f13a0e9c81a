-- Writes the outbox row of a verification code, due now, and wakes the notifiers (the
-- NOTIFY is delivered at COMMIT). The notifier renders and sends it like any other.
-- $1 idempotency key, $2 user id, $3 contact method id, $4 channel, $5 destination,
-- $6 payload (jsonb: {"code": "123456"}), $7 now
-- Returns: the new row's id (none if the key was already written).
WITH inserted AS (
  INSERT INTO notifications (idempotency_key, type, user_id, contact_method_id, channel, destination, payload,
                             due_at, next_attempt_at, committed_at, created_at)
  VALUES ($1, 'verification', $2, $3, $4, $5, $6::jsonb, $7::timestamptz, $7::timestamptz, $7::timestamptz, $7::timestamptz)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id
)
SELECT inserted.id, pg_notify('klaxon_notifications', '') AS notified FROM inserted;
