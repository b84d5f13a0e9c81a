-- Removes a schedule's rotation before it is rewritten.
-- $1 schedule id
-- Returns: nothing.
DELETE FROM schedule_members WHERE schedule_id = $1;
