-- Who stopped the paging of an incident, and when: its latest acknowledged, resolved or
-- cancelled event (what "already acknowledged by Alice" names).
-- $1 incident id
-- Returns: at most one row: kind, actor (null: unknown), occurred_at.
SELECT kind, actor, occurred_at
FROM incident_events
WHERE incident_id = $1 AND kind IN ('acknowledged', 'resolved', 'cancelled')
ORDER BY id DESC
LIMIT 1;
