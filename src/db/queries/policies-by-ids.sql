-- Escalation policies by id.
-- $1 policy ids (uuid[])
-- Returns: the policy rows.
SELECT * FROM escalation_policies WHERE id = ANY($1::uuid[]);
