-- Removes an override of a schedule.
-- $1 schedule id, $2 override id
-- Returns: the id, or none.
DELETE FROM schedule_overrides WHERE schedule_id = $1 AND id = $2 RETURNING id;
