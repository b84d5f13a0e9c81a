-- Appends one event to an incident's audit log.
-- $1 incident id, $2 kind, $3 from state, $4 to state, $5 actor, $6 note, $7 now,
-- $8 details (json), $9 the API token that acted (null: the worker, the CLI)
-- Returns: the new row.
INSERT INTO incident_events (incident_id, kind, from_state, to_state, actor, note, occurred_at, details, token_id)
VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8::jsonb, $9::uuid)
RETURNING *;
