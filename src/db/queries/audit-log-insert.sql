-- Appends one line to the audit log of write requests.
-- $1 occurred at, $2 token id or null, $3 actor, $4 team id or null, $5 method,
-- $6 route template or null, $7 path, $8 status, $9 request id or null
-- Returns: nothing.
INSERT INTO audit_log (occurred_at, token_id, actor, team_id, method, route, path, status, request_id)
VALUES ($1::timestamptz, $2, $3, $4, $5, $6, $7, $8, $9);
