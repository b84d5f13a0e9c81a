-- What keeps a user from being deleted: the schedules whose rotation or overrides name
-- them, and the escalation policies that target them (all ON DELETE RESTRICT).
-- $1 user id, $2 how many rows at most
-- Returns: kind ('schedule', 'override in schedule' or 'escalation policy'), id and
-- name of the schedule or policy; by kind, then name.
SELECT kind, id, name
FROM (
  SELECT 'schedule' AS kind, s.id, s.name
  FROM schedule_members m JOIN schedules s ON s.id = m.schedule_id
  WHERE m.user_id = $1
  UNION
  SELECT 'override in schedule', s.id, s.name
  FROM schedule_overrides o JOIN schedules s ON s.id = o.schedule_id
  WHERE o.user_id = $1
  UNION
  SELECT 'escalation policy', p.id, p.name
  FROM escalation_policy_targets t JOIN escalation_policies p ON p.id = t.policy_id
  WHERE t.user_id = $1
) AS usages
ORDER BY kind DESC, lower(name), id
LIMIT $2;
