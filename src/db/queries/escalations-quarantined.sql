-- The quarantined escalations still PENDING, longest quarantined first
-- (`klaxon escalation quarantined`).
-- $1 the most rows
-- Returns: escalation_id, incident_id, escalation_level, scheduled_at, attempts, last_error, quarantined_at.
SELECT f.escalation_id, e.incident_id, e.escalation_level, e.scheduled_at, f.attempts, f.last_error, f.quarantined_at
FROM escalation_failures f
JOIN escalations e ON e.id = f.escalation_id AND e.status = 'PENDING'
WHERE f.quarantined_at IS NOT NULL
ORDER BY f.quarantined_at, f.escalation_id
LIMIT $1;
