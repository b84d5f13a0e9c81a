-- Replaces a schedule's rotation settings (members are rewritten by the caller).
-- $1 id, $2 name, $3 time zone, $4 shift length, $5 shift unit, $6 hand-off time, $7 start date, $8 now
-- Returns: id, or none.
UPDATE schedules
SET name = $2, time_zone = $3, shift_length = $4, shift_unit = $5, handoff_time = $6,
    start_date = $7::date, updated_at = $8::timestamptz
WHERE id = $1
RETURNING id;
