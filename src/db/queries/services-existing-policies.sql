-- Which of these escalation policies exist, each locked FOR KEY SHARE so that it
-- cannot be deleted before the caller's transaction ends.
-- $1 policy ids (uuid[])
-- Returns: id and team_id, one row per policy that exists.
SELECT id, team_id FROM escalation_policies WHERE id = ANY($1::uuid[]) FOR KEY SHARE;
