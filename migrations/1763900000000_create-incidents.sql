-- Up Migration

-- An incident is one thing that went wrong and the state of the response to it.
-- The state machine lives in src/domain/incident-states.ts; the CHECKs here are the
-- database's copy of the parts that must never be violated, whoever writes.
CREATE TABLE incidents (
  id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  title                    text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
  description              text CHECK (char_length(description) <= 10000),
  severity                 text NOT NULL CHECK (severity IN ('critical', 'error', 'warning', 'info')),
  state                    text NOT NULL DEFAULT 'OPEN'
                           CHECK (state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED', 'RESOLVED', 'CANCELLED')),
  -- The highest level executed so far in the current cycle; 0 until level 1 fires.
  current_escalation_level integer NOT NULL DEFAULT 0 CHECK (current_escalation_level >= 0),
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  acknowledged_at          timestamptz,
  resolved_at              timestamptz,
  cancelled_at             timestamptz,
  -- Bumped by every update: optimistic concurrency for callers (expected_version).
  version                  integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  CONSTRAINT incidents_resolved_has_time CHECK (state <> 'RESOLVED' OR resolved_at IS NOT NULL),
  CONSTRAINT incidents_cancelled_has_time CHECK (state <> 'CANCELLED' OR cancelled_at IS NOT NULL),
  CONSTRAINT incidents_acknowledged_has_time CHECK (state <> 'ACKNOWLEDGED' OR acknowledged_at IS NOT NULL)
);

-- Listing is newest first with keyset pagination on (created_at, id), optionally by state.
CREATE INDEX incidents_created_idx ON incidents (created_at DESC, id DESC);
CREATE INDEX incidents_state_created_idx ON incidents (state, created_at DESC, id DESC);

-- Down Migration
DROP TABLE incidents;
