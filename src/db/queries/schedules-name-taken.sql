-- Another schedule of the same team with this name, compared case-insensitively (as
-- the unique index does).
-- $1 name, $2 the id of the schedule being replaced, or null, $3 team id or null (organisation-wide)
-- Returns: that schedule's id, or none.
SELECT id FROM schedules
WHERE lower(name) = lower($1) AND id IS DISTINCT FROM $2::uuid AND team_id IS NOT DISTINCT FROM $3::uuid
LIMIT 1;
