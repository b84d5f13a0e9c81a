-- Reads a batch of escalations. Run after their incidents are locked, so the rows
-- read are the latest committed ones (every writer of an escalation locks its
-- incident first). The ids are joined through unnest() so the planner always uses
-- the primary key: `id = ANY($1)` was measured to pick the partial pending index
-- when statistics are stale (during a storm), scanning it once per id.
-- $1 escalation ids (uuid[])
-- Returns: the rows that exist, with the columns executing one reads (not e.*: every
-- timestamp returned is parsed by the driver, a cost per row of the worker), each
-- with `quarantined` (kept out of batches: the executor leaves it alone, whoever
-- claimed it).
SELECT e.id, e.incident_id, e.escalation_level, e.repeat_cycle, e.status, e.trigger, e.scheduled_at,
       (f.quarantined_at IS NOT NULL) AS quarantined
FROM unnest($1::uuid[]) AS ids (id)
JOIN escalations e ON e.id = ids.id
LEFT JOIN escalation_failures f ON f.escalation_id = e.id;
