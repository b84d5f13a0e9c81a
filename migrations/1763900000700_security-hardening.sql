-- Up Migration

-- Findings of a security review: a revocation could be dated in the future (the token
-- then stayed valid until that date, and could never be revoked again), and the
-- application's role could rewrite what an incident is (title, team, creation time)
-- without an event saying so. Nothing here changes what the previous release does, so
-- it keeps running while this is applied.

-- API tokens: a revocation is dated now ---------------------------------------------------

-- Every rule of the tokens-teams-audit migration, plus: a first revocation may only be
-- dated between the token's creation and the database's clock. The application's
-- clock is kept in step with Postgres' (src/clock/postgres-clock.ts), so its "now"
-- may be a few milliseconds ahead: one second of tolerance, no more. Any time in the
-- past since the token's creation is allowed (a test's injected clock is in the past).
-- clock_timestamp(), not now(): now() is the start of the transaction, which may be
-- long before the statement. A bad time is check_violation (23514), as a refused
-- escalation status is: the change is allowed, this value is not; restrict_violation
-- stays for what may not change at all.
CREATE OR REPLACE FUNCTION api_tokens_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id <> OLD.id OR NEW.public_id <> OLD.public_id OR NEW.secret_hash <> OLD.secret_hash
     OR NEW.name <> OLD.name OR NEW.scopes <> OLD.scopes
     OR NEW.team_id IS DISTINCT FROM OLD.team_id OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
     OR NEW.created_by IS DISTINCT FROM OLD.created_by OR NEW.created_via <> OLD.created_via
     OR NEW.created_at <> OLD.created_at
     OR (OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at) THEN
    RAISE EXCEPTION 'api token %: only last_used_at and a first revocation may change', OLD.id
      USING ERRCODE = 'restrict_violation';
  END IF;
  IF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL THEN
    IF NEW.revoked_at > clock_timestamp() + interval '1 second' THEN
      RAISE EXCEPTION 'api token %: a revocation cannot be dated in the future (% is after the database''s clock, %)',
        OLD.id, NEW.revoked_at, clock_timestamp()
        USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.revoked_at < OLD.created_at THEN
      RAISE EXCEPTION 'api token %: a revocation cannot be dated before the token was created (% is before %)',
        OLD.id, NEW.revoked_at, OLD.created_at
        USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  RETURN NEW;
END;
$$;

-- Incidents: what an incident is stays as it was opened ---------------------------------

-- Its id (escalations and events refer to it), its team (who may see it) and when it
-- was opened (the list's order, the response times) never change, whoever connects:
-- the schema's owner included, which the grants below do not restrict.
CREATE FUNCTION incidents_guard_identity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id <> OLD.id
     OR NEW.team_id IS DISTINCT FROM OLD.team_id
     OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'incident %: its id, team and creation time cannot be rewritten', OLD.id
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER incidents_guard_identity BEFORE UPDATE ON incidents
  FOR EACH ROW EXECUTE FUNCTION incidents_guard_identity();

-- The application updates exactly these columns, nothing else (src/db/queries:
-- incident-set-state.sql, -set-assignees.sql, -set-cycle-base.sql, -set-policy.sql,
-- -set-snooze.sql, incidents-resume-from-snooze.sql, incidents-set-level-batch.sql).
-- What was reported (title, description, severity, service) and what the trigger
-- keeps fixed are not among them: the application cannot even try. A row lock
-- (incident-lock.sql, incidents-lock-for-escalations.sql, FOR UPDATE OF i SKIP LOCKED
-- in escalations-claim-due.sql) needs UPDATE on some column, which these give.
-- The table-wide grant goes first: revoking it would take the column grants along.
REVOKE UPDATE ON incidents FROM klaxon_app;
GRANT UPDATE (
  state, acknowledged_at, resolved_at, cancelled_at, snoozed_until,
  current_escalation_level, cycle_base, assignees,
  policy_id, policy_version, policy_snapshot,
  updated_at, version
) ON incidents TO klaxon_app;

-- The audit log: the request id the client sent ------------------------------------------

-- request_id now always holds the server's own id for the request; the one a client
-- sent (X-Request-Id) is kept beside it, for tracing, but can no longer pose as ours.
-- klaxon_app's table-wide INSERT on audit_log covers the new column.
-- The check is added NOT VALID: every existing row holds null there, which passes it,
-- and validating would scan the whole log while holding the ACCESS EXCLUSIVE lock of
-- ADD COLUMN, stalling every write request's audit line meanwhile. New rows are
-- checked all the same.
ALTER TABLE audit_log
  ADD COLUMN client_request_id text,
  ADD CONSTRAINT audit_log_client_request_id_check CHECK (char_length(client_request_id) <= 128) NOT VALID;

-- Down Migration
ALTER TABLE audit_log DROP COLUMN client_request_id;
REVOKE UPDATE (
  state, acknowledged_at, resolved_at, cancelled_at, snoozed_until,
  current_escalation_level, cycle_base, assignees,
  policy_id, policy_version, policy_snapshot,
  updated_at, version
) ON incidents FROM klaxon_app;
GRANT UPDATE ON incidents TO klaxon_app;
DROP TRIGGER incidents_guard_identity ON incidents;
DROP FUNCTION incidents_guard_identity();
CREATE OR REPLACE FUNCTION api_tokens_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id <> OLD.id OR NEW.public_id <> OLD.public_id OR NEW.secret_hash <> OLD.secret_hash
     OR NEW.name <> OLD.name OR NEW.scopes <> OLD.scopes
     OR NEW.team_id IS DISTINCT FROM OLD.team_id OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
     OR NEW.created_by IS DISTINCT FROM OLD.created_by OR NEW.created_via <> OLD.created_via
     OR NEW.created_at <> OLD.created_at
     OR (OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at) THEN
    RAISE EXCEPTION 'api token %: only last_used_at and a first revocation may change', OLD.id
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END;
$$;
