-- Deletes an escalation policy (its levels and targets cascade).
-- $1 policy id
-- Returns: the id, or none.
DELETE FROM escalation_policies WHERE id = $1 RETURNING id;
