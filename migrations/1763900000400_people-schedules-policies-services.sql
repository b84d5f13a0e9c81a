-- Up Migration

-- People and teams -------------------------------------------------------------------

CREATE TABLE users (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  email      text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 320 AND email ~ '^[^@\s]+@[^@\s]+$'),
  -- E.164, so an SMS or voice provider can use it as it is.
  phone      text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  time_zone  text NOT NULL DEFAULT 'UTC' CHECK (char_length(time_zone) BETWEEN 1 AND 64),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE teams (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX teams_name_key ON teams (lower(name));

-- Deleting a user takes them out of their teams; nothing else is silently removed.
CREATE TABLE team_members (
  team_id  uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  position integer NOT NULL CHECK (position >= 0),
  PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

-- On-call schedules --------------------------------------------------------------------

CREATE TABLE schedules (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  time_zone     text NOT NULL CHECK (char_length(time_zone) BETWEEN 1 AND 64),
  shift_length  integer NOT NULL CHECK (shift_length >= 1),
  shift_unit    text NOT NULL CHECK (shift_unit IN ('hours', 'days', 'weeks')),
  handoff_time  text NOT NULL CHECK (handoff_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  start_date    date NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX schedules_name_key ON schedules (lower(name));

-- The rotation, in order. A user in a rotation cannot be deleted (edit the schedule first).
CREATE TABLE schedule_members (
  schedule_id uuid NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
  position    integer NOT NULL CHECK (position >= 0),
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  PRIMARY KEY (schedule_id, position)
);
CREATE INDEX schedule_members_user_idx ON schedule_members (user_id);

-- "User X covers from..to": wins over the rotation for that interval [starts_at, ends_at).
CREATE TABLE schedule_overrides (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  schedule_id uuid NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT schedule_overrides_interval CHECK (ends_at > starts_at)
);
CREATE INDEX schedule_overrides_schedule_idx ON schedule_overrides (schedule_id, ends_at);
CREATE INDEX schedule_overrides_user_idx ON schedule_overrides (user_id);

-- Escalation policies ------------------------------------------------------------------

CREATE TABLE escalation_policies (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  description  text CHECK (char_length(description) <= 2000),
  -- How many more times the levels run from level 1 after the last one.
  repeat_count integer NOT NULL DEFAULT 0 CHECK (repeat_count BETWEEN 0 AND 20),
  -- Bumped by every edit; an incident records the version it follows.
  version      integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX escalation_policies_name_key ON escalation_policies (lower(name));

CREATE TABLE escalation_policy_levels (
  policy_id  uuid NOT NULL REFERENCES escalation_policies (id) ON DELETE CASCADE,
  level      integer NOT NULL CHECK (level BETWEEN 1 AND 20),
  delay_ms   bigint NOT NULL CHECK (delay_ms BETWEEN 1000 AND 604800000),
  PRIMARY KEY (policy_id, level)
);

-- Whom a level pages. Exactly one of user_id, schedule_id, team_id is set, matching
-- target_type; the foreign keys keep a target from being deleted while a policy uses it.
CREATE TABLE escalation_policy_targets (
  policy_id   uuid NOT NULL,
  level       integer NOT NULL,
  position    integer NOT NULL CHECK (position >= 0),
  target_type text NOT NULL CHECK (target_type IN ('user', 'schedule', 'team')),
  user_id     uuid REFERENCES users (id) ON DELETE RESTRICT,
  schedule_id uuid REFERENCES schedules (id) ON DELETE RESTRICT,
  team_id     uuid REFERENCES teams (id) ON DELETE RESTRICT,
  PRIMARY KEY (policy_id, level, position),
  FOREIGN KEY (policy_id, level) REFERENCES escalation_policy_levels (policy_id, level) ON DELETE CASCADE,
  CONSTRAINT escalation_policy_targets_one_target CHECK (
    (target_type = 'user'     AND user_id IS NOT NULL AND schedule_id IS NULL AND team_id IS NULL) OR
    (target_type = 'schedule' AND schedule_id IS NOT NULL AND user_id IS NULL AND team_id IS NULL) OR
    (target_type = 'team'     AND team_id IS NOT NULL AND user_id IS NULL AND schedule_id IS NULL)
  )
);
CREATE UNIQUE INDEX escalation_policy_targets_no_duplicate
  ON escalation_policy_targets (policy_id, level, target_type, coalesce(user_id, schedule_id, team_id));
CREATE INDEX escalation_policy_targets_user_idx ON escalation_policy_targets (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX escalation_policy_targets_schedule_idx ON escalation_policy_targets (schedule_id) WHERE schedule_id IS NOT NULL;
CREATE INDEX escalation_policy_targets_team_idx ON escalation_policy_targets (team_id) WHERE team_id IS NOT NULL;

-- Services ----------------------------------------------------------------------------

CREATE TABLE services (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                 text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  description          text CHECK (char_length(description) <= 2000),
  -- Null: the service's incidents follow the default policy (the configured timetable).
  escalation_policy_id uuid REFERENCES escalation_policies (id) ON DELETE RESTRICT,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX services_name_key ON services (lower(name));
CREATE INDEX services_policy_idx ON services (escalation_policy_id);

-- Incidents follow a frozen copy of their policy -------------------------------------

ALTER TABLE incidents
  ADD COLUMN service_id uuid REFERENCES services (id) ON DELETE RESTRICT,
  -- The policy as it was when the incident started escalating (levels, delays,
  -- targets, repeat count): editing or deleting the policy never changes a running
  -- escalation. policy_id is kept without a foreign key, as history.
  ADD COLUMN policy_id uuid,
  ADD COLUMN policy_version integer,
  ADD COLUMN policy_snapshot jsonb,
  -- The repeat cycle that escalation (re)started in: repeats count from here.
  ADD COLUMN cycle_base integer NOT NULL DEFAULT 0 CHECK (cycle_base >= 0),
  -- Who is on the hook now: the people the last executed level (or a reassignment) named.
  ADD COLUMN assignees jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(assignees) = 'array'),
  -- An acknowledged incident snoozed until this time goes back to escalating then.
  ADD COLUMN snoozed_until timestamptz;
CREATE INDEX incidents_service_idx ON incidents (service_id);

-- Why an escalation row exists: the timetable, the end of a snooze, or a person
-- (manual escalate, reassign to a level).
ALTER TABLE escalations
  ADD COLUMN trigger text NOT NULL DEFAULT 'timetable' CHECK (trigger IN ('timetable', 'snooze_end', 'manual'));

-- A manual escalation replaces the scheduled row of the same level (which is
-- cancelled): the rule "a level is scheduled at most once per incident and cycle"
-- now holds among the rows that are not cancelled.
ALTER TABLE escalations DROP CONSTRAINT escalations_one_per_level;
CREATE UNIQUE INDEX escalations_one_per_level
  ON escalations (incident_id, repeat_cycle, escalation_level) WHERE status <> 'CANCELLED';
CREATE INDEX escalations_incident_idx ON escalations (incident_id);

-- The trigger column is part of what was scheduled: it cannot be rewritten either.
CREATE OR REPLACE FUNCTION escalations_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id <> OLD.id
     OR NEW.incident_id <> OLD.incident_id
     OR NEW.escalation_level <> OLD.escalation_level
     OR NEW.repeat_cycle <> OLD.repeat_cycle
     OR NEW.scheduled_at <> OLD.scheduled_at
     OR NEW.trigger <> OLD.trigger
     OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'escalation %: what was scheduled cannot be rewritten', OLD.id
      USING ERRCODE = 'restrict_violation';
  END IF;
  IF NOT (OLD.status = 'PENDING' AND NEW.status IN ('EXECUTED', 'CANCELLED')) THEN
    RAISE EXCEPTION 'escalation %: status may only move PENDING -> EXECUTED or PENDING -> CANCELLED, not % -> %',
      OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;

-- Down Migration
DROP INDEX escalations_incident_idx;
DROP INDEX escalations_one_per_level;
ALTER TABLE escalations ADD CONSTRAINT escalations_one_per_level UNIQUE (incident_id, repeat_cycle, escalation_level);
ALTER TABLE escalations DROP COLUMN trigger;
ALTER TABLE incidents DROP COLUMN service_id, DROP COLUMN policy_id, DROP COLUMN policy_version,
  DROP COLUMN policy_snapshot, DROP COLUMN cycle_base, DROP COLUMN assignees, DROP COLUMN snoozed_until;
DROP TABLE services;
DROP TABLE escalation_policy_targets;
DROP TABLE escalation_policy_levels;
DROP TABLE escalation_policies;
DROP TABLE schedule_overrides;
DROP TABLE schedule_members;
DROP TABLE schedules;
DROP TABLE team_members;
DROP TABLE teams;
DROP TABLE users;
