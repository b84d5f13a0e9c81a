-- Up Migration

-- The append-only audit log: one row per transition or engine action on an incident.
CREATE TABLE incident_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id uuid NOT NULL REFERENCES incidents (id) ON DELETE RESTRICT,
  -- What happened: opened, escalate, acknowledge, resolve, cancel (API transitions),
  -- and later engine actions such as escalated or escalation_exhausted.
  kind        text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{0,62}$'),
  from_state  text CHECK (from_state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED', 'RESOLVED', 'CANCELLED')),
  to_state    text CHECK (to_state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED', 'RESOLVED', 'CANCELLED')),
  actor       text CHECK (char_length(actor) <= 200),
  note        text CHECK (char_length(note) <= 2000),
  occurred_at timestamptz NOT NULL DEFAULT now(),
  details     jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX incident_events_incident_idx ON incident_events (incident_id, id);
CREATE INDEX incident_events_kind_time_idx ON incident_events (kind, occurred_at);

-- Down Migration
DROP TABLE incident_events;
