-- Locks the incidents of a batch of escalations, in id order so that two workers
-- locking overlapping batches cannot deadlock. Transitions lock the same rows, so an
-- acknowledge and an execution serialize (DESIGN.md, invariant 3).
-- $1 escalation ids (uuid[])
-- Returns: id, state, policy_snapshot, cycle_base of each incident.
SELECT id, state, policy_snapshot, cycle_base
FROM incidents
WHERE id IN (SELECT e.incident_id FROM unnest($1::uuid[]) AS ids (id) JOIN escalations e ON e.id = ids.id)
ORDER BY id
FOR UPDATE;
