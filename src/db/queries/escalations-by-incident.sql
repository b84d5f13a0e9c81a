-- Every escalation of an incident, in the order things happened: each row at the time
-- it was executed or cancelled, a pending one at its due time; rows settled at the same
-- instant (a manual page cancels the timetable's row, then fires) in the order they
-- were scheduled.
-- $1 incident id
-- Returns: the rows.
SELECT * FROM escalations
WHERE incident_id = $1
ORDER BY coalesce(executed_at, cancelled_at, scheduled_at), created_at, id;
