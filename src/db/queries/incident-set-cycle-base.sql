-- Restarts the count of repeats from a cycle (a reassignment to a level starts a new pass).
-- $1 incident id, $2 cycle, $3 now
-- Returns: nothing.
UPDATE incidents
SET cycle_base = $2, updated_at = $3::timestamptz, version = version + 1
WHERE id = $1;
