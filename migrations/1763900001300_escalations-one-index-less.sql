-- Up Migration

-- Every execution writes an escalation row twice over (the row it executes, updated to
-- EXECUTED, and the next level, inserted), and since its status is indexed neither can
-- be a HOT update: each adds an entry to every index of the table. escalations_scheduled_idx
-- (scheduled_at alone) served no query: every one that looks escalations up by time
-- names their status too, and finds them in escalations_pending_due_idx (PENDING) or
-- escalations_status_scheduled_idx (late-escalations in docs/audit-queries.sql, by
-- EXECUTED). One index less is two B-tree insertions less per execution (issue 10:
-- the worker's Postgres time is mostly B-tree work).
DROP INDEX escalations_scheduled_idx;

-- Down Migration
CREATE INDEX escalations_scheduled_idx ON escalations (scheduled_at);
