-- Appends a batch of engine events (no actor).
-- $1 incident ids (uuid[]), $2 kinds (text[]), $3 from states (text[]), $4 to states (text[]), $5 details (jsonb[]), $6 now
-- Returns: nothing.
INSERT INTO incident_events (incident_id, kind, from_state, to_state, occurred_at, details)
SELECT event.incident_id, event.kind, event.from_state, event.to_state, $6::timestamptz, event.details
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) AS event (incident_id, kind, from_state, to_state, details);
