-- Changes some fields of a contact method (the caller holds its row lock).
-- $1 contact method id, $2 the changes as a jsonb object (address, label, position: each
-- key present sets its column; a null label clears it), $3 whether the method is
-- unverified by the change (a new phone number must be confirmed again: verified_at and
-- any pending code are cleared), $4 now
-- Returns: the updated row.
UPDATE contact_methods
SET address  = CASE WHEN $2::jsonb ? 'address' THEN $2::jsonb ->> 'address' ELSE address END,
    label    = CASE WHEN $2::jsonb ? 'label' THEN $2::jsonb ->> 'label' ELSE label END,
    position = CASE WHEN $2::jsonb ? 'position' THEN ($2::jsonb ->> 'position')::integer ELSE position END,
    verified_at = CASE WHEN $3::boolean THEN NULL ELSE verified_at END,
    verification_code_hash  = CASE WHEN $3::boolean THEN NULL ELSE verification_code_hash END,
    verification_expires_at = CASE WHEN $3::boolean THEN NULL ELSE verification_expires_at END,
    verification_attempts   = CASE WHEN $3::boolean THEN 0 ELSE verification_attempts END,
    updated_at = $4::timestamptz
WHERE id = $1
RETURNING *;
