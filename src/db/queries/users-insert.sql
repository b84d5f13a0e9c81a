-- Creates a user.
-- $1 name, $2 email, $3 phone (nullable), $4 time zone, $5 now, $6 notify_on_acknowledged,
-- $7 notify_on_resolved
-- Returns: the new user row.
INSERT INTO users (name, email, phone, time_zone, created_at, updated_at, notify_on_acknowledged, notify_on_resolved)
VALUES ($1, $2, $3, $4, $5::timestamptz, $5::timestamptz, $6, $7)
RETURNING *;
