-- Schedules with their rotations, by id.
-- $1 schedule ids (uuid[])
-- Returns: the schedule rows (with team_id), with start_date as text (YYYY-MM-DD) and user_ids in rotation order.
SELECT s.id, s.name, s.team_id, s.time_zone, s.shift_length, s.shift_unit, s.handoff_time,
       to_char(s.start_date, 'YYYY-MM-DD') AS start_date, s.created_at, s.updated_at,
       coalesce(array_agg(m.user_id ORDER BY m.position) FILTER (WHERE m.user_id IS NOT NULL), '{}') AS user_ids
FROM schedules s
LEFT JOIN schedule_members m ON m.schedule_id = s.id
WHERE s.id = ANY($1::uuid[])
GROUP BY s.id;
