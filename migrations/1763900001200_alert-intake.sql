-- Up Migration

-- Alert intake (issue 12): the monitoring people already run (anything that speaks the
-- Events API v2, Prometheus Alertmanager, Grafana alerting) opens, deduplicates,
-- acknowledges and resolves incidents through a service's integration key.

-- Integration keys -------------------------------------------------------------------------

-- A routing key names a service. It is a bearer secret sent in a body or a URL, so only
-- its SHA-256 is kept (it is shown once, when created), with its first characters as a
-- hint to tell keys apart. Revoked, never deleted: the alert log refers to it. The rate
-- limit is per key (null: the configured default, INTAKE_RATE_PER_MINUTE and
-- INTAKE_RATE_BURST). `signing_secret` is the shared secret of Grafana's optional HMAC
-- signature; it must be read back to check a signature, so it cannot be hashed.
CREATE TABLE integration_keys (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  service_id      uuid NOT NULL REFERENCES services (id) ON DELETE RESTRICT,
  name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  key_hash        bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
  key_hint        text NOT NULL CHECK (char_length(key_hint) BETWEEN 1 AND 16),
  rate_per_minute integer CHECK (rate_per_minute BETWEEN 1 AND 100000),
  rate_burst      integer CHECK (rate_burst BETWEEN 1 AND 100000),
  signing_secret  text CHECK (char_length(signing_secret) BETWEEN 16 AND 200),
  created_by      text NOT NULL CHECK (char_length(created_by) BETWEEN 1 AND 300),
  created_at      timestamptz NOT NULL DEFAULT now(),
  revoked_by      text CHECK (char_length(revoked_by) BETWEEN 1 AND 300),
  revoked_at      timestamptz,
  CONSTRAINT integration_keys_revocation_whole CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX integration_keys_service_idx ON integration_keys (service_id, created_at);
SELECT define_fixed_columns('integration_keys', 'integration key %s: only a first revocation may change',
  ARRAY['id', 'service_id', 'name', 'key_hash', 'key_hint', 'rate_per_minute', 'rate_burst', 'signing_secret',
        'created_by', 'created_at']);
CREATE FUNCTION integration_keys_guard_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.revoked_at IS NOT NULL AND (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at OR NEW.revoked_by IS DISTINCT FROM OLD.revoked_by) THEN
    RAISE EXCEPTION 'integration key %: only a first revocation may change', OLD.id
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER integration_keys_guard_revocation BEFORE UPDATE ON integration_keys
  FOR EACH ROW EXECUTE FUNCTION integration_keys_guard_revocation();
CREATE TRIGGER integration_keys_no_delete BEFORE DELETE ON integration_keys
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_rewrite();
CREATE TRIGGER integration_keys_no_truncate BEFORE TRUNCATE ON integration_keys
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_rewrite();

-- Incidents opened by alerts ----------------------------------------------------------------

-- Whether alerts start escalating the service's incidents at once (the default: an
-- alert nobody is paged for is an alert nobody sees).
ALTER TABLE services ADD COLUMN auto_escalate boolean NOT NULL DEFAULT true;

-- `dedup_key`: the key an alert is deduplicated by (the Events API's dedup_key; an
-- Alertmanager alert's fingerprint and start). While the incident is open (OPEN,
-- ESCALATING, ACKNOWLEDGED) no other incident of the service has its key: the unique
-- index, not a read-then-write, is what makes two racing triggers open one incident.
-- `alert_storm`: the service's one open "alert storm" incident, which the alerts past
-- the storm threshold fold into. `alert_count` / `alert_last_seen_at`: the triggers
-- received (the first included) and the last one's time; each one's payload is in
-- alert_log.
ALTER TABLE incidents
  ADD COLUMN dedup_key          text CHECK (char_length(dedup_key) BETWEEN 1 AND 255),
  ADD COLUMN alert_storm        boolean NOT NULL DEFAULT false,
  ADD COLUMN alert_count        integer NOT NULL DEFAULT 0 CHECK (alert_count >= 0),
  ADD COLUMN alert_last_seen_at timestamptz,
  ADD CONSTRAINT incidents_alert_needs_service CHECK ((dedup_key IS NULL AND NOT alert_storm) OR service_id IS NOT NULL),
  ADD CONSTRAINT incidents_storm_has_no_key CHECK (NOT (alert_storm AND dedup_key IS NOT NULL));
CREATE UNIQUE INDEX incidents_open_dedup_key ON incidents (service_id, dedup_key)
  WHERE dedup_key IS NOT NULL AND state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED');
CREATE UNIQUE INDEX incidents_open_alert_storm ON incidents (service_id)
  WHERE alert_storm AND state IN ('OPEN', 'ESCALATING', 'ACKNOWLEDGED');
-- A re-sent Alertmanager or Grafana alert finds its incident even once closed (the same
-- occurrence opens nothing again: src/domain/alerts/event.ts, `reopens`).
CREATE INDEX incidents_dedup_key_idx ON incidents (service_id, dedup_key, created_at) WHERE dedup_key IS NOT NULL;

-- Storms: how many new incidents alerts asked to open on each service in the current
-- minute (a fixed, calendar minute). Past INTAKE_STORM_PER_MINUTE the rest fold into the
-- service's storm incident. One row per service, counted by an upsert: the row lock
-- makes the count exact under concurrent requests, where counting incidents would let
-- every request in flight see the same number.
CREATE TABLE alert_storm_windows (
  service_id uuid PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,
  minute     timestamptz NOT NULL,
  opened     integer NOT NULL CHECK (opened >= 0)
);
-- Which alert an incident is about, and whether it is a storm, are fixed.
SELECT define_fixed_columns('incidents', 'incident %s: its id, team, creation time and alert key cannot be rewritten',
  ARRAY['id', 'team_id', 'created_at', 'dedup_key', 'alert_storm']);
GRANT UPDATE (alert_count, alert_last_seen_at) ON incidents TO klaxon_app;

-- The alert log --------------------------------------------------------------------------

-- Every event received with a valid key, whatever became of it: the raw payload (an
-- Alertmanager or Grafana alert with its group's fields), what it was read as, the
-- incident it touched and the outcome. Append-only, like the other audit tables.
-- "Every alert that touched this incident" is README's query on alert_log_incident_idx.
CREATE TABLE alert_log (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_at        timestamptz NOT NULL,
  integration_key_id uuid NOT NULL REFERENCES integration_keys (id) ON DELETE RESTRICT,
  service_id         uuid NOT NULL REFERENCES services (id) ON DELETE RESTRICT,
  source             text NOT NULL CHECK (source IN ('events_v2', 'alertmanager', 'grafana')),
  -- Null when the event was invalid and no action could be read.
  action             text CHECK (action IN ('trigger', 'acknowledge', 'resolve')),
  dedup_key          text CHECK (char_length(dedup_key) BETWEEN 1 AND 255),
  incident_id        uuid REFERENCES incidents (id) ON DELETE RESTRICT,
  outcome            text NOT NULL CHECK (outcome IN ('opened', 'deduplicated', 'folded', 'acknowledged', 'resolved', 'ignored', 'invalid')),
  -- Why, in words, when the outcome needs one (ignored, invalid).
  reason             text CHECK (char_length(reason) <= 2000),
  payload            jsonb NOT NULL,
  parsed             jsonb,
  request_id         text CHECK (char_length(request_id) <= 128)
);
CREATE INDEX alert_log_incident_idx ON alert_log (incident_id, id) WHERE incident_id IS NOT NULL;
CREATE INDEX alert_log_key_idx ON alert_log (integration_key_id, received_at);
CREATE TRIGGER alert_log_append_only BEFORE UPDATE OR DELETE ON alert_log
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_rewrite();
CREATE TRIGGER alert_log_no_truncate BEFORE TRUNCATE ON alert_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_rewrite();

-- The application role --------------------------------------------------------------------

GRANT SELECT, INSERT ON integration_keys, alert_log TO klaxon_app;
GRANT UPDATE (revoked_at, revoked_by) ON integration_keys TO klaxon_app;
GRANT SELECT, INSERT, UPDATE ON alert_storm_windows TO klaxon_app;

-- Down Migration
DROP TABLE alert_log;
DROP TABLE alert_storm_windows;
REVOKE UPDATE (alert_count, alert_last_seen_at) ON incidents FROM klaxon_app;
SELECT define_fixed_columns('incidents', 'incident %s: its id, team and creation time cannot be rewritten',
  ARRAY['id', 'team_id', 'created_at']);
DROP INDEX incidents_dedup_key_idx;
DROP INDEX incidents_open_alert_storm;
DROP INDEX incidents_open_dedup_key;
ALTER TABLE incidents
  DROP CONSTRAINT incidents_storm_has_no_key,
  DROP CONSTRAINT incidents_alert_needs_service,
  DROP COLUMN alert_last_seen_at,
  DROP COLUMN alert_count,
  DROP COLUMN alert_storm,
  DROP COLUMN dedup_key;
ALTER TABLE services DROP COLUMN auto_escalate;
DROP TABLE integration_keys;
DROP FUNCTION integration_keys_guard_revocation();
DROP FUNCTION integration_keys_guard_identity();
