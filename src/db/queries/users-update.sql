-- Changes some fields of a user (the caller holds the row lock).
-- $1 user id, $2 the changes as a jsonb object: each key present (name, email, phone,
-- time_zone) sets its column, an absent key leaves it alone, a null phone clears it;
-- $3 now
-- Returns: the updated row.
UPDATE users
SET name       = CASE WHEN $2::jsonb ? 'name' THEN $2::jsonb ->> 'name' ELSE name END,
    email      = CASE WHEN $2::jsonb ? 'email' THEN $2::jsonb ->> 'email' ELSE email END,
    phone      = CASE WHEN $2::jsonb ? 'phone' THEN $2::jsonb ->> 'phone' ELSE phone END,
    time_zone  = CASE WHEN $2::jsonb ? 'time_zone' THEN $2::jsonb ->> 'time_zone' ELSE time_zone END,
    updated_at = $3::timestamptz
WHERE id = $1
RETURNING *;
