-- Adds members to an empty team, in the order given (position 0, 1, ...).
-- $1 team id, $2 user ids (uuid[], no duplicates)
-- Returns: nothing.
INSERT INTO team_members (team_id, user_id, position)
SELECT $1, given.user_id, given.ordinality - 1
FROM unnest($2::uuid[]) WITH ORDINALITY AS given (user_id, ordinality);
