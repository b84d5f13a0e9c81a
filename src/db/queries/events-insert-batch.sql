-- Appends a batch of engine events (no state change: from_state = to_state = the
-- incident's state, no actor).
-- $1 incident ids (uuid[]), $2 kinds (text[]), $3 states (text[]), $4 details (jsonb[]), $5 now
-- Returns: nothing.
INSERT INTO incident_events (incident_id, kind, from_state, to_state, occurred_at, details)
SELECT event.incident_id, event.kind, event.state, event.state, $5::timestamptz, event.details
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) AS event (incident_id, kind, state, details);
