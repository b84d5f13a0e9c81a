-- Gives a claimed SMS or voice escalation notification the short code a reply quotes
-- (ACK 4821), before it is sent. The code must be unique for the number (a unique
-- index on destination and code): the caller draws another on a unique violation. Guarded by the claim.
-- $1 id, $2 claim, $3 code
-- Returns: reply_code (the one it already had, or $3); none when the claim was lost.
UPDATE notifications SET reply_code = coalesce(reply_code, $3)
WHERE id = $1::uuid AND claim = $2::int AND status = 'PENDING'
RETURNING reply_code;
