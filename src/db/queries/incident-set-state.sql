-- Moves an incident to a new state (the caller checked the transition and holds the
-- row lock) and stamps the time of entering it.
-- $1 incident id, $2 new state, $3 now
-- Returns: the updated row.
UPDATE incidents
SET state           = $2::text,
    updated_at      = $3::timestamptz,
    version         = version + 1,
    acknowledged_at = CASE WHEN $2::text = 'ACKNOWLEDGED' THEN $3::timestamptz ELSE acknowledged_at END,
    resolved_at     = CASE WHEN $2::text = 'RESOLVED' THEN $3::timestamptz ELSE resolved_at END,
    cancelled_at    = CASE WHEN $2::text = 'CANCELLED' THEN $3::timestamptz ELSE cancelled_at END
WHERE id = $1
RETURNING *;
