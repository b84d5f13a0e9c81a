-- Every alert that touched an incident, oldest first, a page at a time (README, "Sending
-- alerts": the same query by hand). On alert_log_incident_idx.
-- $1 incident id, $2 after this alert-log id (0: from the start), $3 at most this many
-- Returns: the alert-log lines.
SELECT * FROM alert_log
WHERE incident_id = $1::uuid AND id > $2::bigint
ORDER BY id
LIMIT $3::integer;
