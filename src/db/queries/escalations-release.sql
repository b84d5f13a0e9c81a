-- Releases quarantined escalations (`klaxon escalation release`), once their cause is
-- fixed: the attempts start again from zero and they may run at once. Only rows still
-- PENDING: a settled one has nothing left to release.
-- $1 escalation ids (uuid[]), or null for every quarantined one; $2 now
-- Returns: escalation_id, incident_id, scheduled_at of the rows released.
UPDATE escalation_failures AS f
SET quarantined_at = NULL, released_at = $2::timestamptz, attempts = 0, retry_at = $2::timestamptz
FROM escalations e
WHERE e.id = f.escalation_id AND e.status = 'PENDING' AND f.quarantined_at IS NOT NULL
  AND ($1::uuid[] IS NULL OR f.escalation_id = ANY ($1::uuid[]))
RETURNING f.escalation_id, e.incident_id, e.scheduled_at;
