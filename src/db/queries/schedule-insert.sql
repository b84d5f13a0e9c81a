-- Creates a schedule (its rotation members are written by schedule-members-insert).
-- $1 name, $2 time zone, $3 shift length, $4 shift unit, $5 hand-off time (HH:MM), $6 start date, $7 now,
-- $8 team id or null (organisation-wide)
-- Returns: id.
INSERT INTO schedules (name, time_zone, shift_length, shift_unit, handoff_time, start_date, created_at, updated_at, team_id)
VALUES ($1, $2, $3, $4, $5, $6::date, $7::timestamptz, $7::timestamptz, $8::uuid)
RETURNING id;
