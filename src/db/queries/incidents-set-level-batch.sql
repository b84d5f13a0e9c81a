-- Records the level just paged on each incident, and who it paged.
-- $1 incident ids (uuid[]), $2 levels (int[]), $3 assignees (jsonb[]), $4 now
-- Returns: nothing.
UPDATE incidents AS i
SET current_escalation_level = paged.level, assignees = paged.assignees,
    updated_at = $4::timestamptz, version = i.version + 1
FROM unnest($1::uuid[], $2::int[], $3::jsonb[]) AS paged (incident_id, level, assignees)
WHERE i.id = paged.incident_id;
