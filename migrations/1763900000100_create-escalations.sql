-- Up Migration

-- One row per scheduled escalation step; the audit trail of every scheduled, executed
-- and cancelled escalation. Rows are never deleted (see the audit guards migration).
CREATE TABLE escalations (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  incident_id      uuid NOT NULL REFERENCES incidents (id) ON DELETE RESTRICT,
  escalation_level integer NOT NULL CHECK (escalation_level >= 1),
  -- 0 for the first pass through the levels; policies that repeat count up from there.
  repeat_cycle     integer NOT NULL DEFAULT 0 CHECK (repeat_cycle >= 0),
  status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'EXECUTED', 'CANCELLED')),
  scheduled_at     timestamptz NOT NULL,
  executed_at      timestamptz,
  cancelled_at     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  -- A level is scheduled at most once per incident and cycle: inserting the next level
  -- is idempotent (ON CONFLICT DO NOTHING), so a retried or raced execution cannot
  -- schedule it twice. Its leading column also serves lookups by incident_id.
  CONSTRAINT escalations_one_per_level UNIQUE (incident_id, repeat_cycle, escalation_level),
  CONSTRAINT escalations_status_times CHECK (
    (status = 'PENDING'   AND executed_at IS NULL     AND cancelled_at IS NULL) OR
    (status = 'EXECUTED'  AND executed_at IS NOT NULL AND cancelled_at IS NULL) OR
    (status = 'CANCELLED' AND cancelled_at IS NOT NULL AND executed_at IS NULL)
  )
);

-- Audit queries by status and time ("everything executed last night").
CREATE INDEX escalations_status_scheduled_idx ON escalations (status, scheduled_at);
CREATE INDEX escalations_scheduled_idx ON escalations (scheduled_at);
-- The hot path: the due PENDING rows, for the reconciler and for degraded mode.
CREATE INDEX escalations_pending_due_idx ON escalations (scheduled_at, id) WHERE status = 'PENDING';

-- Down Migration
DROP TABLE escalations;
