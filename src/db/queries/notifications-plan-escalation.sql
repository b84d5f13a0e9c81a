-- The outbox rows of executed levels (issue 11): one per paged person x usable contact
-- method x rule, written in the executing transaction. Which methods, per page:
--   1. the level names channels and the person has usable methods of those kinds: each of
--      them, at once (key suffix `level`);
--   2. otherwise the person's rules whose method is usable: each at its delay (suffix: the rule);
--   3. otherwise (no usable rule): every usable method, at once (suffix `default`).
-- Usable: not disabled; sms and voice only once verified. Idempotent: a page written
-- twice (a retried batch) is one row (ON CONFLICT on the key). Wakes the notifiers
-- (NOTIFY, delivered at COMMIT) when a row is due at once.
-- $1 escalation ids (uuid[]), $2 incident ids (uuid[]), $3 levels (int[]), $4 paged user
-- ids (uuid[]), $5 the level's channels, comma-separated (text[], null: none named),
-- $6 payloads (jsonb[]); one element per (execution, paged person). $7 now: the
-- execution instant, the rows' committed_at (the commit follows within milliseconds).
-- Returns: inserted (rows written), notified (whether NOTIFY was sent).
WITH page AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::uuid[], $5::text[], $6::jsonb[])
    AS p (escalation_id, incident_id, level, user_id, channels, payload)
),
usable AS (
  SELECT p.escalation_id, p.user_id, cm.id AS method_id, cm.kind, cm.address,
         coalesce(cm.kind = ANY (string_to_array(p.channels, ',')), false) AS named
  FROM page p
  JOIN contact_methods cm ON cm.user_id = p.user_id
  WHERE cm.disabled_at IS NULL AND (cm.kind NOT IN ('sms', 'voice') OR cm.verified_at IS NOT NULL)
),
by_rule AS (
  SELECT u.escalation_id, u.user_id, u.method_id, u.kind, u.address, r.id AS rule_id, r.delay_ms
  FROM usable u
  JOIN notification_rules r ON r.contact_method_id = u.method_id
),
chosen AS (
  SELECT u.escalation_id, u.user_id, u.method_id, u.kind, u.address, NULL::uuid AS rule_id, 0::bigint AS delay_ms, 'level' AS basis
  FROM usable u
  WHERE u.named
  UNION ALL
  SELECT b.escalation_id, b.user_id, b.method_id, b.kind, b.address, b.rule_id, b.delay_ms, b.rule_id::text
  FROM by_rule b
  WHERE NOT EXISTS (SELECT 1 FROM usable o WHERE o.escalation_id = b.escalation_id AND o.user_id = b.user_id AND o.named)
  UNION ALL
  SELECT u.escalation_id, u.user_id, u.method_id, u.kind, u.address, NULL::uuid, 0::bigint, 'default'
  FROM usable u
  WHERE NOT EXISTS (SELECT 1 FROM usable o WHERE o.escalation_id = u.escalation_id AND o.user_id = u.user_id AND o.named)
    AND NOT EXISTS (SELECT 1 FROM by_rule b WHERE b.escalation_id = u.escalation_id AND b.user_id = u.user_id)
),
inserted AS (
  INSERT INTO notifications (idempotency_key, type, incident_id, escalation_id, level, user_id, contact_method_id, rule_id,
                             channel, destination, due_at, next_attempt_at, payload, committed_at, created_at)
  SELECT 'escalation:' || c.escalation_id || ':' || c.user_id || ':' || c.method_id || ':' || c.basis,
         'escalation', p.incident_id, c.escalation_id, p.level, c.user_id, c.method_id, c.rule_id,
         c.kind, c.address,
         $7::timestamptz + c.delay_ms * interval '1 millisecond', $7::timestamptz + c.delay_ms * interval '1 millisecond',
         p.payload, $7::timestamptz, $7::timestamptz
  FROM chosen c
  JOIN page p ON p.escalation_id = c.escalation_id AND p.user_id = c.user_id
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING due_at
)
SELECT (SELECT count(*) FROM inserted)::int AS inserted,
       (SELECT count(*) FROM (SELECT pg_notify('klaxon_notifications', '') WHERE EXISTS (SELECT 1 FROM inserted WHERE due_at <= $7::timestamptz)) AS woken) > 0 AS notified;
