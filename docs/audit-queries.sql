-- Audit queries: plain SQL against the klaxon database. In psql, set the incident
-- first:  \set incident_id '6f1c3c8e-0000-4000-8000-000000000000'
-- test/db/audit-queries.test.ts runs every query in this file against real data.

-- name: escalations-of-one-incident
-- Every escalation of one incident with its timing: when it was due, when it fired
-- or was cancelled, and how late it fired; in the order things happened (each row at
-- its execution or cancellation, a pending one at its due time), as the API lists them.
SELECT e.repeat_cycle, e.escalation_level, e.trigger, e.status,
       e.scheduled_at, e.executed_at, e.cancelled_at,
       e.executed_at - e.scheduled_at AS lateness
FROM escalations e
WHERE e.incident_id = :'incident_id'
ORDER BY coalesce(e.executed_at, e.cancelled_at, e.scheduled_at), e.created_at, e.id;

-- name: audit-trail-of-one-incident
-- The whole audit log of one incident: who did what, when, from which state.
SELECT occurred_at, kind, from_state, to_state, actor, note, details
FROM incident_events
WHERE incident_id = :'incident_id'
ORDER BY id;

-- name: acknowledged-only-after-level-2
-- Incidents that nobody acknowledged until level 2 or later had been paged. The first
-- acknowledgement counts, from the events: incidents.acknowledged_at holds the latest
-- (an incident snoozed and acknowledged again moves it).
WITH first_ack AS (
  SELECT incident_id, min(occurred_at) AS at
  FROM incident_events
  WHERE kind = 'acknowledged'
  GROUP BY incident_id
)
SELECT i.id, i.title, i.severity, f.at AS first_acknowledged_at,
       max(e.escalation_level) AS highest_level_paged_before_ack
FROM incidents i
JOIN first_ack f ON f.incident_id = i.id
JOIN escalations e ON e.incident_id = i.id
WHERE e.status = 'EXECUTED'
  AND e.executed_at <= f.at
GROUP BY i.id, f.at
HAVING max(e.escalation_level) >= 2
ORDER BY f.at DESC;

-- name: mean-time-to-acknowledge-by-severity
-- Mean and 90th-percentile time from opening to the first acknowledgement, by
-- severity, for incidents opened in the last 30 days (the first acknowledgement comes
-- from the events: incidents.acknowledged_at holds the latest).
WITH first_ack AS (
  SELECT incident_id, min(occurred_at) AS at
  FROM incident_events
  WHERE kind = 'acknowledged'
    AND occurred_at > now() - interval '30 days'
  GROUP BY incident_id
)
SELECT i.severity,
       count(*) AS acknowledged,
       avg(f.at - i.created_at) AS mean_time_to_acknowledge,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM f.at - i.created_at))
         * interval '1 second' AS p90_time_to_acknowledge
FROM incidents i
JOIN first_ack f ON f.incident_id = i.id
WHERE i.created_at > now() - interval '30 days'
GROUP BY i.severity
ORDER BY i.severity;

-- name: late-escalations
-- Escalations that fired more than one second after they were due, in the last 24
-- hours. Each execution recorded an `escalated` event (incident_events_kind_time_idx
-- finds the day's); the escalation row it names holds the times.
SELECT e.incident_id, e.escalation_level, e.scheduled_at, e.executed_at,
       e.executed_at - e.scheduled_at AS lateness
FROM incident_events ev
JOIN escalations e ON e.incident_id = ev.incident_id AND e.id::text = ev.details->>'escalation_id'
WHERE ev.kind = 'escalated'
  AND ev.occurred_at > now() - interval '24 hours'
  AND e.executed_at > e.scheduled_at + interval '1 second'
ORDER BY lateness DESC;

-- name: overdue-pending-escalations
-- PENDING escalations whose due time has passed: should be empty while the workers
-- keep up. The partial index escalations_pending_due_idx serves this query.
SELECT id, incident_id, escalation_level, scheduled_at, now() - scheduled_at AS overdue_by
FROM escalations
WHERE status = 'PENDING' AND scheduled_at < now()
ORDER BY scheduled_at;

-- name: paged-while-not-escalating
-- Pages sent while their incident was not ESCALATING (acknowledged, snoozed, resolved,
-- cancelled, or not escalating yet): must always be empty (DESIGN.md, invariant 3).
-- Each page (an `escalated` event) is judged by its incident's last change of state
-- before it, in the order the events were written (the incident row lock serializes
-- them), so it holds across snoozes, reassignments and manual escalations, however
-- often an incident goes back to escalating.
SELECT p.incident_id, p.details->>'escalation_id' AS escalation_id,
       (p.details->>'level')::int AS level, p.occurred_at AS paged_at,
       last_change.to_state AS state_before
FROM incident_events p
LEFT JOIN LATERAL (
  SELECT c.to_state
  FROM incident_events c
  WHERE c.incident_id = p.incident_id
    AND c.id < p.id
    AND c.from_state IS DISTINCT FROM c.to_state
  ORDER BY c.id DESC
  LIMIT 1
) AS last_change ON true
WHERE p.kind = 'escalated'
  AND last_change.to_state IS DISTINCT FROM 'ESCALATING';

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

-- name: alerts-of-one-incident
-- Every alert that touched one incident (issue 12): each event received, oldest first,
-- through which integration key, what became of it and the payload as received.
SELECT a.received_at, a.source, a.action, a.outcome, a.reason, a.dedup_key,
       k.name AS integration_key, a.payload
FROM alert_log a
JOIN integration_keys k ON k.id = a.integration_key_id
WHERE a.incident_id = :'incident_id'
ORDER BY a.id;
