-- Up Migration

-- Three costs every execution paid that bought nothing (issue 10: the worker is
-- Postgres-bound; measured per executed escalation on the 2-core development machine).

-- 1. The kind of every event was checked with a bounded repetition, `{0,62}`, which
--    Postgres' regex engine runs as 62 copies of its state machine: 5 µs per row, where
--    the same rule written as an unbounded class and a length takes 0.3 µs. Same rule:
--    a lower-case letter, then lower-case letters or underscores, 63 characters at most.
ALTER TABLE incident_events DROP CONSTRAINT incident_events_kind_check;
ALTER TABLE incident_events ADD CONSTRAINT incident_events_kind_check
  CHECK (kind ~ '^[a-z][a-z_]*$' AND char_length(kind) <= 63);

-- 2. escalations_status_scheduled_idx covered every escalation ever scheduled, and each
--    execution added two entries to it (its own update, never HOT since status is
--    indexed, and the next level's insert). The engine never reads it: due rows come
--    from escalations_pending_due_idx. Its one reader was the late-escalations audit
--    query, which now starts from the `escalated` events (incident_events_kind_time_idx)
--    that record each execution and its lateness.
DROP INDEX escalations_status_scheduled_idx;

-- 3. Every execution updates its incident (level, assignees, version): a HOT update,
--    with no index entry, only while the page has room for the new version. At 80, the
--    rate bench saw 27 % of these updates HOT; at 50, all of them. New pages keep half
--    free; existing ones gain it as they are rewritten (VACUUM FULL, or over time).
ALTER TABLE incidents SET (fillfactor = 50);

-- Down Migration
ALTER TABLE incidents SET (fillfactor = 80);
CREATE INDEX escalations_status_scheduled_idx ON escalations (status, scheduled_at);
ALTER TABLE incident_events DROP CONSTRAINT incident_events_kind_check;
ALTER TABLE incident_events ADD CONSTRAINT incident_events_kind_check CHECK (kind ~ '^[a-z][a-z_]{0,62}$');
