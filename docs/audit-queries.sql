-- Audit queries: plain SQL against the klaxon database. In psql, set the incident
-- first:  \set incident_id '6f1c3c8e-0000-4000-8000-000000000000'
-- test/db/audit-queries.test.ts runs every query in this file against real data.

-- name: escalations-of-one-incident
-- Every escalation of one incident with its timing: when it was due, when it fired
-- or was cancelled, and how late it fired.
SELECT e.repeat_cycle, e.escalation_level, e.status,
       e.scheduled_at, e.executed_at, e.cancelled_at,
       e.executed_at - e.scheduled_at AS lateness
FROM escalations e
WHERE e.incident_id = :'incident_id'
ORDER BY e.repeat_cycle, e.escalation_level;

-- name: audit-trail-of-one-incident
-- The whole audit log of one incident: who did what, when, from which state.
SELECT occurred_at, kind, from_state, to_state, actor, note, details
FROM incident_events
WHERE incident_id = :'incident_id'
ORDER BY id;

-- name: acknowledged-only-after-level-2
-- Incidents that nobody acknowledged until level 2 or later had been paged.
SELECT i.id, i.title, i.severity, i.acknowledged_at,
       max(e.escalation_level) AS highest_level_paged_before_ack
FROM incidents i
JOIN escalations e ON e.incident_id = i.id
WHERE i.acknowledged_at IS NOT NULL
  AND e.status = 'EXECUTED'
  AND e.executed_at <= i.acknowledged_at
GROUP BY i.id
HAVING max(e.escalation_level) >= 2
ORDER BY i.acknowledged_at DESC;

-- name: mean-time-to-acknowledge-by-severity
-- Mean and 90th-percentile time to acknowledge, by severity, over the last 30 days.
SELECT severity,
       count(*) AS acknowledged,
       avg(acknowledged_at - created_at) AS mean_time_to_acknowledge,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - created_at))
         * interval '1 second' AS p90_time_to_acknowledge
FROM incidents
WHERE acknowledged_at IS NOT NULL
  AND created_at > now() - interval '30 days'
GROUP BY severity
ORDER BY severity;

-- name: late-escalations
-- Escalations that fired more than one second after they were due, last 24 hours.
SELECT incident_id, escalation_level, scheduled_at, executed_at,
       executed_at - scheduled_at AS lateness
FROM escalations
WHERE status = 'EXECUTED'
  AND executed_at > scheduled_at + interval '1 second'
  AND scheduled_at > now() - interval '24 hours'
ORDER BY lateness DESC;

-- name: overdue-pending-escalations
-- PENDING escalations whose due time has passed: should be empty while the workers
-- keep up. The partial index escalations_pending_due_idx serves this query.
SELECT id, incident_id, escalation_level, scheduled_at, now() - scheduled_at AS overdue_by
FROM escalations
WHERE status = 'PENDING' AND scheduled_at < now()
ORDER BY scheduled_at;

-- name: paged-after-acknowledge
-- Escalations executed after their incident was acknowledged, resolved or cancelled:
-- must always be empty (DESIGN.md, invariant 3).
SELECT e.id, e.incident_id, e.escalation_level, e.executed_at,
       least(i.acknowledged_at, i.resolved_at, i.cancelled_at) AS stopped_at
FROM escalations e
JOIN incidents i ON i.id = e.incident_id
WHERE e.status = 'EXECUTED'
  AND e.executed_at > least(i.acknowledged_at, i.resolved_at, i.cancelled_at);

-- name: incidents-by-state
-- How many incidents are in each state, and the oldest of each.
SELECT state, count(*) AS incidents, min(created_at) AS oldest
FROM incidents
GROUP BY state
ORDER BY state;

-- name: who-was-paged
-- Who was paged for one incident, at which level and cycle, when, and through which
-- target; a level that reached nobody shows with a null user.
SELECT e.occurred_at AS paged_at,
       (e.details->>'level')::int AS level,
       (e.details->>'repeat_cycle')::int AS repeat_cycle,
       p->>'name' AS user_name,
       p->>'user_id' AS user_id,
       p->'via'->>'type' AS via,
       e.details->>'trigger' AS trigger
FROM incident_events e
LEFT JOIN LATERAL jsonb_array_elements(e.details->'paged') AS p ON true
WHERE e.incident_id = :'incident_id' AND e.kind = 'escalated'
ORDER BY e.id, p->>'name';
