-- Adds a contact method to a person (the caller holds the person's row lock, so the
-- default position, last, is computed without a race).
-- $1 user id, $2 kind, $3 address, $4 label (nullable), $5 position (null: after the
-- others, at most 1000), $6 verified (boolean: verified_at is now), $7 now
-- Returns: the new row.
INSERT INTO contact_methods (user_id, kind, address, label, position, verified_at, created_at, updated_at)
SELECT $1, $2, $3, $4,
       COALESCE($5::integer, (SELECT LEAST(COALESCE(max(position) + 1, 0), 1000)
                                FROM contact_methods WHERE user_id = $1 AND disabled_at IS NULL)),
       CASE WHEN $6::boolean THEN $7::timestamptz END,
       $7::timestamptz, $7::timestamptz
RETURNING *;
