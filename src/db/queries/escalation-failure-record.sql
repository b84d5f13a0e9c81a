-- Counts a failed attempt at executing one escalation on its own (src/worker/batches.ts):
-- one attempt more, the error, when it may be tried again (the backoff doubles from
-- $5 up to $6 ms), and, once the attempts reach $4, the quarantine. A quarantined row
-- stays quarantined (its first quarantine time is kept) until it is released.
-- $1 escalation id, $2 the error (text, at most 2,000 characters), $3 now,
-- $4 attempts before quarantine, $5 first backoff (ms), $6 longest backoff (ms)
-- Returns: escalation_id, incident_id, attempts, last_error, retry_at, quarantined_at, and
-- newly_quarantined: this attempt is the one that quarantined it.
WITH recorded AS (
  INSERT INTO escalation_failures AS f (escalation_id, attempts, last_error, first_failed_at, last_failed_at, retry_at, quarantined_at)
  VALUES ($1::uuid, 1, $2::text, $3::timestamptz, $3::timestamptz,
          $3::timestamptz + make_interval(secs => $5::float8 / 1000),
          CASE WHEN $4::int <= 1 THEN $3::timestamptz END)
  ON CONFLICT (escalation_id) DO UPDATE
  SET attempts = f.attempts + 1,
      last_error = EXCLUDED.last_error,
      last_failed_at = EXCLUDED.last_failed_at,
      retry_at = EXCLUDED.last_failed_at + make_interval(secs => least($5::float8 * 2 ^ f.attempts, $6::float8) / 1000),
      quarantined_at = coalesce(f.quarantined_at, CASE WHEN f.attempts + 1 >= $4::int THEN EXCLUDED.last_failed_at END)
  RETURNING f.escalation_id, f.attempts, f.last_error, f.retry_at, f.quarantined_at
)
SELECT r.escalation_id, e.incident_id, r.attempts, r.last_error, r.retry_at, r.quarantined_at,
       coalesce(r.quarantined_at = $3::timestamptz, false) AS newly_quarantined
FROM recorded r JOIN escalations e ON e.id = r.escalation_id;
