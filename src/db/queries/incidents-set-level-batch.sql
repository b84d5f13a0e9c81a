-- Records the level just paged on each incident.
-- $1 incident ids (uuid[]), $2 levels (int[]), $3 now
-- Returns: nothing.
UPDATE incidents AS i
SET current_escalation_level = paged.level, updated_at = $3::timestamptz, version = i.version + 1
FROM unnest($1::uuid[], $2::int[]) AS paged (incident_id, level)
WHERE i.id = paged.incident_id;
