-- Reads one integration key, with its service's team (whose callers may see it).
-- $1 key id
-- Returns: the row plus team_id, or none.
SELECT integration_keys.*, services.team_id
FROM integration_keys JOIN services ON services.id = integration_keys.service_id
WHERE integration_keys.id = $1;
