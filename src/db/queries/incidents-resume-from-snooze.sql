-- A snooze ended: the acknowledged incidents go back to ESCALATING, repeats counting
-- from the cycle the snooze started.
-- $1 incident ids (uuid[]), $2 cycles (int[]), $3 now
-- Returns: nothing.
UPDATE incidents AS i
SET state = 'ESCALATING', cycle_base = resumed.cycle, snoozed_until = NULL,
    updated_at = $3::timestamptz, version = i.version + 1
FROM unnest($1::uuid[], $2::int[]) AS resumed (incident_id, cycle)
WHERE i.id = resumed.incident_id AND i.state = 'ACKNOWLEDGED';
