-- Adds an override: user X covers the schedule from..to.
-- $1 schedule id, $2 user id, $3 starts at, $4 ends at, $5 now
-- Returns: the new row.
INSERT INTO schedule_overrides (schedule_id, user_id, starts_at, ends_at, created_at)
VALUES ($1, $2, $3::timestamptz, $4::timestamptz, $5::timestamptz)
RETURNING *;
