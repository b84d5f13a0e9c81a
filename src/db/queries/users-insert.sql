-- Creates a user.
-- $1 name, $2 email, $3 phone (nullable), $4 time zone, $5 now
-- Returns: the new user row.
INSERT INTO users (name, email, phone, time_zone, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5::timestamptz, $5::timestamptz)
RETURNING *;
