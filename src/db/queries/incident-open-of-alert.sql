-- The open incident of a service with an alert's dedup key (to acknowledge or resolve it).
-- $1 service id, $2 dedup key
-- Returns: its id, or none.
SELECT id FROM incidents
WHERE service_id = $1::uuid AND dedup_key = $2::text AND state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED');
