-- Appends events to incidents' audit logs, in the order given (their ids follow it: the
-- audit queries read an incident's story in id order).
-- $1 the events, as one JSON array of rows (eventRecords, src/db/events.ts): position,
-- incident_id, kind, from_state (null: none), to_state, actor, note, occurred_at,
-- details, token_id (the API token that acted; null: the worker, the CLI). One jsonb
-- parameter rather than nine arrays: the worker appends an event per execution, and
-- each array element was escaped by the driver and parsed again by Postgres.
-- Returns: nothing.
INSERT INTO incident_events (incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id)
SELECT incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id
FROM jsonb_to_recordset($1::jsonb)
  AS event (position integer, incident_id uuid, kind text, from_state text, to_state text, actor text, note text,
            occurred_at timestamptz, details jsonb, token_id uuid)
ORDER BY position;
