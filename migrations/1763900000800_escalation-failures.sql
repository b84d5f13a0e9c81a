-- Up Migration

-- Executions that failed because of the escalation itself (issue 10, item 5: a row
-- whose execution always throws, a corrupt policy snapshot for one, failed its whole
-- batch of up to 500 on every retry). A worker whose batch fails retries its rows
-- apart; a row whose own execution fails gets a line here, shared by every worker:
-- how many attempts failed, the last error, when it may be tried again, and, after
-- a bounded number of attempts, since when it is quarantined: kept out of batches,
-- out of the Redis index and out of degraded-mode claims, still PENDING, so that a
-- transition (acknowledge, resolve, cancel, a manual escalate) still settles it and
-- an operator can release it once the cause is fixed (`klaxon escalation release`).
--
-- A table beside escalations rather than columns on it: an escalation row may only
-- move PENDING -> EXECUTED or CANCELLED (the audit guards migration), and what went
-- wrong trying is not part of what was scheduled. This one is operational state:
-- its rows are updated in place (a release zeroes the count), never deleted.
CREATE TABLE escalation_failures (
  escalation_id   uuid PRIMARY KEY REFERENCES escalations (id) ON DELETE RESTRICT,
  -- Failed attempts since the row was scheduled or last released.
  attempts        integer NOT NULL CHECK (attempts >= 0),
  last_error      text NOT NULL CHECK (char_length(last_error) <= 2000),
  first_failed_at timestamptz NOT NULL,
  last_failed_at  timestamptz NOT NULL,
  -- The next attempt may run from then on (the backoff between attempts).
  retry_at        timestamptz NOT NULL,
  -- Set when the attempts ran out; cleared by a release.
  quarantined_at  timestamptz,
  released_at     timestamptz
);

-- "How many are quarantined" (GET /stats, the gauge) without reading the others.
CREATE INDEX escalation_failures_quarantined_idx ON escalation_failures (quarantined_at) WHERE quarantined_at IS NOT NULL;

-- The workers count attempts (INSERT ... ON CONFLICT DO UPDATE) and the CLI releases;
-- which escalation a line is about never changes, and nothing deletes one.
GRANT SELECT, INSERT ON escalation_failures TO klaxon_app;
GRANT UPDATE (attempts, last_error, last_failed_at, retry_at, quarantined_at, released_at) ON escalation_failures TO klaxon_app;

-- Down Migration
DROP TABLE escalation_failures;
