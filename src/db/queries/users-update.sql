-- Changes some fields of a user (the caller holds the row lock).
-- $1 user id, $2 the changes as a jsonb object: each key present (name, email, phone,
-- time_zone, notify_on_acknowledged, notify_on_resolved) sets its column, an absent key
-- leaves it alone, a null phone clears it; $3 now
-- Returns: the updated row.
UPDATE users
SET name       = CASE WHEN $2::jsonb ? 'name' THEN $2::jsonb ->> 'name' ELSE name END,
    email      = CASE WHEN $2::jsonb ? 'email' THEN $2::jsonb ->> 'email' ELSE email END,
    phone      = CASE WHEN $2::jsonb ? 'phone' THEN $2::jsonb ->> 'phone' ELSE phone END,
    time_zone  = CASE WHEN $2::jsonb ? 'time_zone' THEN $2::jsonb ->> 'time_zone' ELSE time_zone END,
    notify_on_acknowledged = CASE WHEN $2::jsonb ? 'notify_on_acknowledged' THEN ($2::jsonb ->> 'notify_on_acknowledged')::boolean ELSE notify_on_acknowledged END,
    notify_on_resolved     = CASE WHEN $2::jsonb ? 'notify_on_resolved' THEN ($2::jsonb ->> 'notify_on_resolved')::boolean ELSE notify_on_resolved END,
    updated_at = $3::timestamptz
WHERE id = $1
RETURNING *;
