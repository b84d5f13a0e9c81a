-- A person's notifications as an operator reads them (`klaxon notification list`): every
-- type and channel, newest first, with where each stands and why.
-- $1 user id, $2 how many
-- Returns: the rows' id, type, channel, destination, status, reason, incident_id, level,
-- attempts, due_at, next_attempt_at, sent_at, finished_at, created_at, provider_message_id.
SELECT id, type, channel, destination, status, reason, incident_id, level, attempts, due_at, next_attempt_at,
       sent_at, finished_at, created_at, provider_message_id
FROM notifications
WHERE user_id = $1::uuid
ORDER BY created_at DESC, id DESC
LIMIT $2;
