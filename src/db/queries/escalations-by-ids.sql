-- Reads a batch of escalations. Run after their incidents are locked, so the rows
-- read are the latest committed ones (every writer of an escalation locks its
-- incident first). The ids are joined through unnest() so the planner always uses
-- the primary key: `id = ANY($1)` was measured to pick the partial pending index
-- when statistics are stale (during a storm), scanning it once per id.
-- $1 escalation ids (uuid[])
-- Returns: the rows that exist.
SELECT e.* FROM unnest($1::uuid[]) AS ids (id) JOIN escalations e ON e.id = ids.id;
