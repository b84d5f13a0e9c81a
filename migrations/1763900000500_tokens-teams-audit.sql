-- Up Migration

-- API tokens ---------------------------------------------------------------------------

-- A token reads klx_<public_id>_<secret>. Only a SHA-256 of the secret is kept: the
-- secret is 256 random bits, so a fast hash is enough (stretching protects guessable
-- passwords, not random keys), and a copy of this table lets nobody in. Tokens are
-- revoked, never deleted: the audit log refers to them.
CREATE TABLE api_tokens (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  public_id    text NOT NULL UNIQUE CHECK (public_id ~ '^[a-z0-9]{12}$'),
  secret_hash  bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
  name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  scopes       text[] NOT NULL CHECK (
    cardinality(scopes) BETWEEN 1 AND 4 AND scopes <@ ARRAY['read', 'write', 'admin', 'metrics']::text[]
  ),
  -- Null: an organisation-wide token, which sees every team's objects.
  team_id      uuid REFERENCES teams (id) ON DELETE RESTRICT,
  expires_at   timestamptz,
  revoked_at   timestamptz,
  -- The token that created this one; null when it came from the CLI or the environment.
  created_by   uuid REFERENCES api_tokens (id) ON DELETE RESTRICT,
  -- Who created it when no token did: 'cli:<os user>' or 'environment'.
  created_via  text NOT NULL CHECK (char_length(created_via) BETWEEN 1 AND 200),
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- Updated at most once a minute per token, not on every request.
  last_used_at timestamptz,
  CONSTRAINT api_tokens_expiry_after_creation CHECK (expires_at IS NULL OR expires_at > created_at)
);
CREATE INDEX api_tokens_team_idx ON api_tokens (team_id);
CREATE INDEX api_tokens_created_by_idx ON api_tokens (created_by);

-- Only revocation and use may change a token; what it is and may do is fixed.
CREATE FUNCTION api_tokens_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER api_tokens_guard_update BEFORE UPDATE ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION api_tokens_guard_update();
CREATE TRIGGER api_tokens_no_delete BEFORE DELETE ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_rewrite();
CREATE TRIGGER api_tokens_no_truncate BEFORE TRUNCATE ON api_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_rewrite();

-- The audit log: every authenticated write request -------------------------------------

CREATE TABLE audit_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL,
  -- Null for the CLI, which acts with the operator's database access, not a token.
  token_id    uuid REFERENCES api_tokens (id) ON DELETE RESTRICT,
  -- 'token <public id> (<name>)' or 'cli:<os user>': readable without a join.
  actor       text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 300),
  team_id     uuid,
  method      text NOT NULL CHECK (char_length(method) BETWEEN 1 AND 16),
  -- The route template (/incidents/:id/acknowledge), and the path the caller used.
  route       text CHECK (char_length(route) <= 200),
  path        text NOT NULL CHECK (char_length(path) <= 2048),
  status      integer NOT NULL CHECK (status BETWEEN 100 AND 599),
  request_id  text CHECK (char_length(request_id) <= 128)
);
CREATE INDEX audit_log_token_idx ON audit_log (token_id, occurred_at);
CREATE INDEX audit_log_occurred_idx ON audit_log (occurred_at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_rewrite();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_rewrite();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_rewrite();

-- Which token wrote an incident's event (null: the worker, the CLI, or before tokens).
ALTER TABLE incident_events ADD COLUMN token_id uuid REFERENCES api_tokens (id) ON DELETE RESTRICT;

-- Team ownership ----------------------------------------------------------------------

-- Services, policies, schedules and incidents belong to a team; null means
-- organisation-wide (rows from before teams owned anything, or made so by an
-- organisation-wide token), which only organisation-wide tokens see.
ALTER TABLE services ADD COLUMN team_id uuid REFERENCES teams (id) ON DELETE RESTRICT;
ALTER TABLE escalation_policies ADD COLUMN team_id uuid REFERENCES teams (id) ON DELETE RESTRICT;
ALTER TABLE schedules ADD COLUMN team_id uuid REFERENCES teams (id) ON DELETE RESTRICT;
ALTER TABLE incidents ADD COLUMN team_id uuid REFERENCES teams (id) ON DELETE RESTRICT;

-- Names are unique within a team, so one team cannot learn another's names by
-- trying them. The all-zero uuid stands for "organisation-wide" in the key.
DROP INDEX services_name_key;
CREATE UNIQUE INDEX services_name_key
  ON services (coalesce(team_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name));
DROP INDEX escalation_policies_name_key;
CREATE UNIQUE INDEX escalation_policies_name_key
  ON escalation_policies (coalesce(team_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name));
DROP INDEX schedules_name_key;
CREATE UNIQUE INDEX schedules_name_key
  ON schedules (coalesce(team_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name));

-- A team's incident list, newest first, without scanning the others'.
CREATE INDEX incidents_team_created_idx ON incidents (team_id, created_at DESC, id DESC);

-- Down Migration
DROP INDEX incidents_team_created_idx;
DROP INDEX schedules_name_key;
CREATE UNIQUE INDEX schedules_name_key ON schedules (lower(name));
DROP INDEX escalation_policies_name_key;
CREATE UNIQUE INDEX escalation_policies_name_key ON escalation_policies (lower(name));
DROP INDEX services_name_key;
CREATE UNIQUE INDEX services_name_key ON services (lower(name));
ALTER TABLE incidents DROP COLUMN team_id;
ALTER TABLE schedules DROP COLUMN team_id;
ALTER TABLE escalation_policies DROP COLUMN team_id;
ALTER TABLE services DROP COLUMN team_id;
ALTER TABLE incident_events DROP COLUMN token_id;
DROP TABLE audit_log;
DROP TABLE api_tokens;
DROP FUNCTION api_tokens_guard_update();
