-- What keeps a service from being deleted: its incidents (incidents.service_id is ON
-- DELETE RESTRICT, and incidents are never deleted).
-- $1 service id, $2 how many rows at most
-- Returns: kind ('incident'), id and name (the title) of the incident, and total (how
-- many incidents the service has); newest first.
SELECT 'incident' AS kind, id, title AS name, (count(*) OVER ())::integer AS total
FROM incidents
WHERE service_id = $1
ORDER BY created_at DESC, id DESC
LIMIT $2;
