-- Appends events to incidents' audit logs, in the order given (their ids follow it: the
-- audit queries read an incident's story in id order).
-- $1 incident ids (uuid[]), $2 kinds (text[]), $3 from states (text[], null: none),
-- $4 to states (text[]), $5 actors (text[]), $6 notes (text[]), $7 occurred at
-- (timestamptz[]), $8 details (jsonb[]), $9 the API tokens that acted (uuid[], null: the
-- worker, the CLI)
-- Returns: nothing.
INSERT INTO incident_events (incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id)
SELECT incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::jsonb[], $9::uuid[])
  WITH ORDINALITY AS event (incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id, position)
ORDER BY position;
