-- Locks the incidents of a batch of escalations, as incidents-lock-for-escalations.sql
-- does, but skips those another session holds instead of waiting for them (the
-- worker; issue 10, item 4: a worker stopped past its lease held its row locks, and
-- the worker that took its claims over waited on them, 8 s late, its whole batch with
-- it). The worker hands the rows of a skipped incident back for shortly after.
-- $1 escalation ids (uuid[])
-- Returns: id, state, policy_snapshot, cycle_base of each incident locked.
SELECT id, state, policy_snapshot, cycle_base
FROM incidents
WHERE id IN (SELECT e.incident_id FROM unnest($1::uuid[]) AS ids (id) JOIN escalations e ON e.id = ids.id)
ORDER BY id
FOR UPDATE SKIP LOCKED;
