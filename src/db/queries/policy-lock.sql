-- Locks an escalation policy row (edits and deletes of one policy serialize).
-- $1 policy id
-- Returns: the row, or none.
SELECT * FROM escalation_policies WHERE id = $1 FOR UPDATE;
