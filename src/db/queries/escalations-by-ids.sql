-- Reads a batch of escalations. Run after their incidents are locked, so the rows
-- read are the latest committed ones (every writer of an escalation locks its
-- incident first).
-- $1 escalation ids (uuid[])
-- Returns: the rows that exist.
SELECT * FROM escalations WHERE id = ANY($1::uuid[]);
