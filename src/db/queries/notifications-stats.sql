-- Operational figures on the outbox (GET /stats, klaxon stats, the /metrics gauges).
-- $1 now
-- Returns: pending (PENDING rows), due (PENDING and due: to be sent now), oldest_due (the
-- earliest next attempt among the due ones), by_channel (jsonb: per channel, the rows
-- SENT, FAILED and SKIPPED (FOLDED counted as skipped), over the whole outbox).
SELECT (SELECT count(*) FROM notifications WHERE status = 'PENDING')::int AS pending,
       (SELECT count(*) FROM notifications WHERE status = 'PENDING' AND next_attempt_at <= $1::timestamptz)::int AS due,
       (SELECT min(due_at) FROM notifications WHERE status = 'PENDING' AND next_attempt_at <= $1::timestamptz) AS oldest_due,
       coalesce((
         SELECT jsonb_object_agg(channel, jsonb_build_object('sent', sent, 'failed', failed, 'skipped', skipped))
         FROM (
           SELECT channel,
                  count(*) FILTER (WHERE status = 'SENT')::int AS sent,
                  count(*) FILTER (WHERE status = 'FAILED')::int AS failed,
                  count(*) FILTER (WHERE status IN ('SKIPPED', 'FOLDED'))::int AS skipped
           FROM notifications
           WHERE status <> 'PENDING'
           GROUP BY channel
         ) c
       ), '{}'::jsonb) AS by_channel;
