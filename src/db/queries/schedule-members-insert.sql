-- Writes a schedule's rotation, in order.
-- $1 schedule id, $2 user ids (uuid[], in rotation order)
-- Returns: nothing.
INSERT INTO schedule_members (schedule_id, position, user_id)
SELECT $1, m.ordinality - 1, m.user_id FROM unnest($2::uuid[]) WITH ORDINALITY AS m (user_id, ordinality);
