-- Changes some fields of a service (the caller holds the row lock).
-- $1 service id, $2 the changes as a jsonb object: each key present (name,
-- description, escalation_policy_id, auto_escalate) sets its column, an absent key
-- leaves it alone, a null clears it (auto_escalate is never null); $3 now
-- Returns: the updated row.
UPDATE services
SET name                 = CASE WHEN $2::jsonb ? 'name' THEN $2::jsonb ->> 'name' ELSE name END,
    description          = CASE WHEN $2::jsonb ? 'description' THEN $2::jsonb ->> 'description' ELSE description END,
    escalation_policy_id = CASE WHEN $2::jsonb ? 'escalation_policy_id'
                                THEN ($2::jsonb ->> 'escalation_policy_id')::uuid ELSE escalation_policy_id END,
    auto_escalate        = CASE WHEN $2::jsonb ? 'auto_escalate' THEN ($2::jsonb -> 'auto_escalate')::boolean ELSE auto_escalate END,
    updated_at           = $3::timestamptz
WHERE id = $1
RETURNING *;
