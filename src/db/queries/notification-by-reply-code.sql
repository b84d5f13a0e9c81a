-- The SMS notification an inbound reply names: its reply code, sent to the number the
-- reply comes from (a code alone is four digits: anyone could guess one; the sender's
-- number must be the one we paged). The newest first, should a code have been reused.
-- $1 reply code, $2 the sender's number (E.164)
-- Returns: at most one row: id, type, incident_id, user_id.
SELECT id, type, incident_id, user_id
FROM notifications
WHERE reply_code = $1 AND destination = $2 AND channel = 'sms' AND incident_id IS NOT NULL
ORDER BY created_at DESC, id
LIMIT 1;
