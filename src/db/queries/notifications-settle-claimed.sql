-- Settles claimed rows the notifier decided not to send (throttles): SKIPPED with the
-- reason, or FOLDED into a digest. Guarded by the claim, like every write of a claim.
-- $1 ids (uuid[]), $2 claims (int[]), $3 statuses (text[]: SKIPPED | FOLDED), $4 reasons
-- (text[]), $5 digest ids (uuid[], null when skipped), $6 now
-- Returns: id of the rows settled.
UPDATE notifications n
SET status = s.status, reason = s.reason, digest_id = s.digest_id, finished_at = $6::timestamptz, lease_until = NULL,
    -- Not attempted after all: the attempt counted by the claim is given back.
    attempts = n.attempts - 1
FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::uuid[]) AS s (id, claim, status, reason, digest_id)
WHERE n.id = s.id AND n.claim = s.claim AND n.status = 'PENDING'
RETURNING n.id;
