-- Records a delivery receipt (a provider's status callback) and, when it says the message
-- reached the person, when it first did. The notification is found by the id the callback
-- URL carries or else by the provider's id; a receipt nobody's row matches is kept anyway
-- (notification_id null): it is evidence, and it never changes what was sent.
-- $1 notification id or null, $2 provider message id, $3 status, $4 details (jsonb),
-- $5 received at, $6 reached the person (boolean)
-- Returns: one row: notification_id (null: no row matched).
WITH target AS (
  SELECT id FROM notifications
  WHERE ($1::uuid IS NOT NULL AND id = $1::uuid)
     OR ($1::uuid IS NULL AND provider_message_id = $2)
  ORDER BY created_at DESC
  LIMIT 1
), receipt AS (
  INSERT INTO notification_receipts (notification_id, provider_message_id, status, details, received_at)
  SELECT (SELECT id FROM target), $2, $3, $4::jsonb, $5
  RETURNING notification_id
), delivered AS (
  UPDATE notifications SET delivered_at = $5
  WHERE id = (SELECT id FROM target) AND $6::boolean AND delivered_at IS NULL
  RETURNING id
)
SELECT notification_id FROM receipt;
