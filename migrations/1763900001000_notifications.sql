-- Up Migration

-- Notifications (issue 11): the people a level pages are told, once, on the channel
-- they chose. The engine writes an outbox row per person, contact method and rule in
-- the very transaction that executes the level (so a page is never lost between the
-- commit and the send, and never written twice: the idempotency key is unique); the
-- notifier processes claim due rows, send them with no transaction open, and record
-- every attempt. Nothing here ever holds an escalation back.

-- How a person is reached ---------------------------------------------------------------

-- One row per way of reaching a person. `address` is what the channel needs: an e-mail
-- address, an E.164 number (sms, voice), a Slack member id (the bot DMs it, and Slack
-- interactions map it back to the person), a Teams incoming-webhook URL, a webhook URL;
-- '' for in_app. SMS and voice numbers are used only once verified (a code sent over the
-- channel, confirmed through the API): a typo must not page a stranger at 3 a.m. The
-- other kinds are verified when created. `position` orders a person's methods: when
-- every attempt on one failed, the next is tried.
CREATE TABLE contact_methods (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id                uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind                   text NOT NULL CHECK (kind IN ('email', 'sms', 'voice', 'slack', 'teams', 'webhook', 'in_app')),
  address                text NOT NULL CHECK (char_length(address) <= 2048),
  label                  text CHECK (char_length(label) BETWEEN 1 AND 200),
  position               integer NOT NULL CHECK (position BETWEEN 0 AND 1000),
  verified_at            timestamptz,
  -- The pending verification: a SHA-256 of the code sent, until when it holds, and the
  -- wrong guesses so far (bounded: a 6-digit code cannot be brute-forced).
  verification_code_hash text CHECK (verification_code_hash ~ '^[0-9a-f]{64}$'),
  verification_expires_at timestamptz,
  verification_attempts  integer NOT NULL DEFAULT 0 CHECK (verification_attempts BETWEEN 0 AND 100),
  -- A method is disabled, never deleted, once notifications refer to it.
  disabled_at            timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT contact_methods_address_shape CHECK (
    (kind = 'in_app' AND address = '') OR
    (kind = 'email' AND address ~ '^[^@\s]+@[^@\s]+$') OR
    (kind IN ('sms', 'voice') AND address ~ '^\+[1-9][0-9]{6,14}$') OR
    (kind = 'slack' AND address ~ '^[UW][A-Z0-9]{2,20}$') OR
    (kind IN ('teams', 'webhook') AND address ~ '^https?://')
  )
);
CREATE UNIQUE INDEX contact_methods_one_per_address ON contact_methods (user_id, kind, lower(address)) WHERE disabled_at IS NULL;
CREATE INDEX contact_methods_user_idx ON contact_methods (user_id, position);
-- Slack interactions find the person by their Slack member id.
CREATE INDEX contact_methods_slack_idx ON contact_methods (address) WHERE kind = 'slack';

-- Nobody is paged into the void: every person has an in-app and an e-mail method from
-- the start (users.email is required), the people already there included.
INSERT INTO contact_methods (user_id, kind, address, position, verified_at, created_at, updated_at)
  SELECT id, 'in_app', '', 0, created_at, created_at, created_at FROM users
  UNION ALL
  SELECT id, 'email', lower(email), 1, created_at, created_at, created_at FROM users;
-- And every person created later, whichever path creates them (API, CLI, a script).
CREATE FUNCTION users_default_contact_methods() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO contact_methods (user_id, kind, address, position, verified_at, created_at, updated_at)
    VALUES (NEW.id, 'in_app', '', 0, NEW.created_at, NEW.created_at, NEW.created_at),
           (NEW.id, 'email', lower(NEW.email), 1, NEW.created_at, NEW.created_at, NEW.created_at);
  RETURN NULL;
END;
$$;
CREATE TRIGGER users_default_contact_methods AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION users_default_contact_methods();

-- When each method is used after a page: delay 0 is at once; e.g. SMS at once, voice
-- after 5 minutes if the incident is still unacknowledged. A person without rules is
-- notified at once on every usable method (the documented default).
CREATE TABLE notification_rules (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  contact_method_id uuid NOT NULL REFERENCES contact_methods (id) ON DELETE CASCADE,
  delay_ms          bigint NOT NULL CHECK (delay_ms BETWEEN 0 AND 86400000),
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (contact_method_id, delay_ms)
);
CREATE INDEX notification_rules_user_idx ON notification_rules (user_id);

-- The stop-paging notices each person may turn off.
ALTER TABLE users
  ADD COLUMN notify_on_acknowledged boolean NOT NULL DEFAULT true,
  ADD COLUMN notify_on_resolved boolean NOT NULL DEFAULT true;

-- Policy levels: page at once (delay 0), and the channels a level uses, overriding the
-- person's own rules for that level (null: the person's rules).
ALTER TABLE escalation_policy_levels DROP CONSTRAINT escalation_policy_levels_delay_ms_check;
ALTER TABLE escalation_policy_levels ADD CONSTRAINT escalation_policy_levels_delay_ms_check CHECK (delay_ms BETWEEN 0 AND 604800000);
ALTER TABLE escalation_policy_levels ADD COLUMN channels text[] CHECK (
  channels IS NULL OR (cardinality(channels) BETWEEN 1 AND 7
    AND channels <@ ARRAY['email', 'sms', 'voice', 'slack', 'teams', 'webhook', 'in_app']::text[])
);

-- The outbox ------------------------------------------------------------------------------

-- One row per notification to send: a person, a contact method, a rule (or a level's
-- channel, a notice, a digest, a verification code). Operational state: updated in
-- place as it is claimed and sent, never deleted; its status only moves forward
-- (trigger below), and what it is about is fixed.
CREATE TABLE notifications (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Unique: the same page written twice (a retried batch, two workers) is one row.
  -- escalation:<escalation>:<user>:<method>:<rule|level>, notice:<type>:<incident>:<user>:<method>, ...
  idempotency_key     text NOT NULL UNIQUE CHECK (char_length(idempotency_key) BETWEEN 1 AND 300),
  type                text NOT NULL CHECK (type IN ('escalation', 'acknowledged', 'resolved', 'verification', 'digest')),
  incident_id         uuid REFERENCES incidents (id) ON DELETE RESTRICT,
  escalation_id       uuid REFERENCES escalations (id) ON DELETE RESTRICT,
  level               integer CHECK (level BETWEEN 1 AND 20),
  user_id             uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  contact_method_id   uuid NOT NULL REFERENCES contact_methods (id) ON DELETE RESTRICT,
  rule_id             uuid REFERENCES notification_rules (id) ON DELETE SET NULL,
  channel             text NOT NULL CHECK (channel IN ('email', 'sms', 'voice', 'slack', 'teams', 'webhook', 'in_app')),
  -- The address when the row was written: later edits of the method do not redirect it.
  destination         text NOT NULL CHECK (char_length(destination) <= 2048),
  status              text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED', 'SKIPPED', 'FOLDED')),
  -- When it may be sent (the level's commit plus the rule's delay), and when the next
  -- attempt may run (retries back off from it).
  due_at              timestamptz NOT NULL,
  next_attempt_at     timestamptz NOT NULL,
  attempts            integer NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 100),
  -- A notifier's claim: until when it is held, and by which attempt (a fencing token:
  -- a late writer whose lease was taken over changes nothing).
  lease_until         timestamptz,
  claim               integer NOT NULL DEFAULT 0 CHECK (claim >= 0),
  -- The short code an SMS reply quotes (ACK 4821); unique per number (index below).
  reply_code          text CHECK (reply_code ~ '^[0-9]{4,8}$'),
  provider_message_id text CHECK (char_length(provider_message_id) <= 300),
  -- What the message needs beyond the incident: a verification code, a digest's count.
  payload             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
  -- Why it was skipped, folded or failed.
  reason              text CHECK (char_length(reason) <= 2000),
  -- Folded into this digest.
  digest_id           uuid REFERENCES notifications (id) ON DELETE RESTRICT,
  -- When the executing (or transition) transaction committed: the latency runs from it.
  committed_at        timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  sent_at             timestamptz,
  finished_at         timestamptz,
  delivered_at        timestamptz,
  read_at             timestamptz,
  CONSTRAINT notifications_escalation_has_incident CHECK (type NOT IN ('escalation', 'acknowledged', 'resolved') OR incident_id IS NOT NULL),
  CONSTRAINT notifications_finished CHECK ((status = 'PENDING') = (finished_at IS NULL))
);
-- The notifiers' claim: the due PENDING rows, oldest first.
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC);
CREATE INDEX notifications_incident_idx ON notifications (incident_id, user_id) WHERE incident_id IS NOT NULL;
-- Throttles: recent notifications per contact method and per destination.
CREATE INDEX notifications_method_recent_idx ON notifications (contact_method_id, created_at);
CREATE INDEX notifications_destination_recent_idx ON notifications (channel, destination, created_at);
CREATE INDEX notifications_provider_id_idx ON notifications (provider_message_id) WHERE provider_message_id IS NOT NULL;
-- An SMS reply names its notification by the number it comes from and the code: codes
-- are unique per number (4 digits go a long way per phone; the notifier draws longer
-- ones when they collide), never released, so an old reply can never act on a new page.
CREATE UNIQUE INDEX notifications_reply_code_key ON notifications (destination, reply_code) WHERE reply_code IS NOT NULL;

SELECT define_fixed_columns('notifications', 'notification %s: what it is about cannot be rewritten',
  ARRAY['id', 'idempotency_key', 'type', 'incident_id', 'escalation_id', 'level', 'user_id', 'contact_method_id',
        'channel', 'destination', 'payload', 'due_at', 'committed_at', 'created_at']);

-- The status only moves forward: PENDING -> SENT | FAILED | SKIPPED | FOLDED.
CREATE FUNCTION notifications_guard_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND OLD.status <> 'PENDING' THEN
    RAISE EXCEPTION USING MESSAGE = format('notification %s: %s is final, it cannot become %s', OLD.id, OLD.status, NEW.status),
      ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER notifications_guard_status BEFORE UPDATE ON notifications FOR EACH ROW EXECUTE FUNCTION notifications_guard_status();
CREATE TRIGGER notifications_no_delete BEFORE DELETE ON notifications FOR EACH ROW EXECUTE FUNCTION audit_refuse_rewrite();
CREATE TRIGGER notifications_no_truncate BEFORE TRUNCATE ON notifications FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_rewrite();

-- Every attempt, append-only like the other audit tables: when, on which channel, what
-- the provider answered, how long it took.
CREATE TABLE notification_attempts (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  notification_id     uuid NOT NULL REFERENCES notifications (id) ON DELETE RESTRICT,
  attempt             integer NOT NULL CHECK (attempt >= 1),
  channel             text NOT NULL,
  started_at          timestamptz NOT NULL,
  finished_at         timestamptz NOT NULL,
  latency_ms          double precision NOT NULL CHECK (latency_ms >= 0),
  -- sent; transient (retried); permanent (not retried); timeout (retried)
  outcome             text NOT NULL CHECK (outcome IN ('sent', 'transient', 'permanent', 'timeout')),
  provider_message_id text CHECK (char_length(provider_message_id) <= 300),
  http_status         integer CHECK (http_status BETWEEN 100 AND 599),
  error               text CHECK (char_length(error) <= 2000),
  UNIQUE (notification_id, attempt)
);
CREATE TRIGGER notification_attempts_append_only BEFORE UPDATE OR DELETE ON notification_attempts
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_rewrite();
CREATE TRIGGER notification_attempts_no_truncate BEFORE TRUNCATE ON notification_attempts
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_rewrite();

-- Delivery receipts (Twilio status callbacks, ...): what the provider later said about
-- a message. Append-only; they never change what was sent.
CREATE TABLE notification_receipts (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  notification_id     uuid REFERENCES notifications (id) ON DELETE RESTRICT,
  provider_message_id text NOT NULL CHECK (char_length(provider_message_id) <= 300),
  status              text NOT NULL CHECK (char_length(status) BETWEEN 1 AND 64),
  details             jsonb NOT NULL DEFAULT '{}',
  received_at         timestamptz NOT NULL
);
CREATE INDEX notification_receipts_notification_idx ON notification_receipts (notification_id);
CREATE TRIGGER notification_receipts_append_only BEFORE UPDATE OR DELETE ON notification_receipts
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_rewrite();
CREATE TRIGGER notification_receipts_no_truncate BEFORE TRUNCATE ON notification_receipts
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_rewrite();

-- The application role --------------------------------------------------------------------

GRANT SELECT, INSERT, UPDATE ON contact_methods, notification_rules TO klaxon_app;
GRANT DELETE ON notification_rules TO klaxon_app;
GRANT SELECT, INSERT ON notifications TO klaxon_app;
GRANT UPDATE (status, next_attempt_at, attempts, lease_until, claim, reply_code, provider_message_id, reason,
              digest_id, sent_at, finished_at, delivered_at, read_at) ON notifications TO klaxon_app;
GRANT SELECT, INSERT ON notification_attempts, notification_receipts TO klaxon_app;

-- Down Migration
DROP TABLE notification_receipts;
DROP TABLE notification_attempts;
DROP TABLE notifications;
DROP FUNCTION notifications_guard_status();
DROP FUNCTION notifications_guard_identity();
ALTER TABLE escalation_policy_levels DROP COLUMN channels;
ALTER TABLE escalation_policy_levels DROP CONSTRAINT escalation_policy_levels_delay_ms_check;
ALTER TABLE escalation_policy_levels ADD CONSTRAINT escalation_policy_levels_delay_ms_check CHECK (delay_ms BETWEEN 1000 AND 604800000);
ALTER TABLE users DROP COLUMN notify_on_acknowledged, DROP COLUMN notify_on_resolved;
DROP TABLE notification_rules;
DROP TRIGGER users_default_contact_methods ON users;
DROP FUNCTION users_default_contact_methods();
DROP TABLE contact_methods;
