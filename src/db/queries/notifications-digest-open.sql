-- The digest a destination's surplus is folded into (issue 11, throttles): one row per
-- channel, destination and minute, due when that minute ends. Written once (the key);
-- the folded rows point at it (digest_id), and its message counts them when it is sent.
-- $1 idempotency key (digest:<channel>:<destination>:<minute>), $2 user id, $3 contact
-- method id, $4 channel, $5 destination, $6 due (the minute's end), $7 now
-- Returns: id of the digest (new or already there).
WITH inserted AS (
  INSERT INTO notifications (idempotency_key, type, user_id, contact_method_id, channel, destination,
                             due_at, next_attempt_at, committed_at, created_at)
  VALUES ($1, 'digest', $2, $3, $4, $5, $6::timestamptz, $6::timestamptz, $7::timestamptz, $7::timestamptz)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id
)
SELECT id FROM inserted
UNION ALL
SELECT id FROM notifications WHERE idempotency_key = $1 AND NOT EXISTS (SELECT 1 FROM inserted);
