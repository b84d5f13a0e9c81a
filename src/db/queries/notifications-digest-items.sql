-- What a digest names: the incidents of the notifications folded into it, newest first.
-- $1 digest id, $2 how many to name
-- Returns: total (folded rows), and up to $2 incidents (id, title, severity, state, service_name).
SELECT (SELECT count(*) FROM notifications WHERE digest_id = $1::uuid)::int AS total,
       coalesce((SELECT jsonb_agg(x ORDER BY x.folded_at DESC, x.id) FROM (
         SELECT i.id, i.title, i.severity, i.state, s.name AS service_name, max(n.created_at) AS folded_at
         FROM notifications n
         JOIN incidents i ON i.id = n.incident_id
         LEFT JOIN services s ON s.id = i.service_id
         WHERE n.digest_id = $1::uuid
         GROUP BY i.id, s.name
         ORDER BY folded_at DESC, i.id
         LIMIT $2::int
       ) x), '[]'::jsonb) AS incidents;
