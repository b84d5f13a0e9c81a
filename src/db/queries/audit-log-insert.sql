-- Appends lines to the audit log of write requests, one per element of the arrays
-- (all of the same length: one row inside a change's transaction, or a batch of
-- refused requests).
-- $1 occurred at[], $2 token id[], $3 actor[], $4 team id (null: organisation-wide)[],
-- $5 method[], $6 route template (null: none matched)[], $7 path[], $8 status[],
-- $9 request id (the server's)[], $10 the client's X-Request-Id (or null)[]
-- Returns: nothing.
INSERT INTO audit_log (occurred_at, token_id, actor, team_id, method, route, path, status, request_id, client_request_id)
SELECT * FROM unnest(
  $1::timestamptz[], $2::uuid[], $3::text[], $4::uuid[], $5::text[],
  $6::text[], $7::text[], $8::integer[], $9::text[], $10::text[]
);
