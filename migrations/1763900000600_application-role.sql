-- Up Migration

-- The role the API and the workers act as (config database.role, DATABASE_ROLE): it
-- may only append to the audit tables, move an escalation PENDING -> EXECUTED or
-- CANCELLED, and manage the configuration. The triggers of the audit guards migration
-- still refuse rewrites to whoever connects; these privileges make the same rules
-- hold without relying on triggers (which an owner can disable), and keep the
-- application off everything else (pgmigrations, DDL, TRUNCATE).
--
-- Roles belong to the whole cluster, while this migration runs once per database
-- (several share a cluster: one per test file, a staging copy next to production):
-- the role is created only when missing, and a creation racing another database's
-- migration is taken as done. An owner that may not create roles (no CREATEROLE)
-- needs the role made beforehand; see the README, "Security".
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'klaxon_app') THEN
    CREATE ROLE klaxon_app NOLOGIN;
  END IF;
EXCEPTION
  -- Two concurrent CREATE ROLEs: the loser waits for the winner's commit and fails on
  -- pg_authid's unique index (23505); one started after it saw the role (42710).
  WHEN duplicate_object OR unique_violation THEN
    NULL;
  WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'role klaxon_app does not exist and % may not create it', current_user
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Run CREATE ROLE klaxon_app NOLOGIN; as a role with CREATEROLE, then migrate again.';
END
$$;

GRANT USAGE ON SCHEMA public TO klaxon_app;

-- The audit tables: appended to, read, never changed. Their identity columns need no
-- sequence privilege (an identity default does not check one).
GRANT SELECT, INSERT ON incident_events, audit_log TO klaxon_app;

-- The escalation audit trail: a row is inserted PENDING and later settled, which
-- sets exactly these columns (escalations-mark-executed.sql, -mark-cancelled.sql,
-- -cancel-pending.sql). What was scheduled (level, cycle, due time, trigger) cannot
-- be updated at all.
GRANT SELECT, INSERT ON escalations TO klaxon_app;
GRANT UPDATE (status, executed_at, cancelled_at, updated_at) ON escalations TO klaxon_app;

-- Tokens are revoked and used, never edited or deleted.
GRANT SELECT, INSERT ON api_tokens TO klaxon_app;
GRANT UPDATE (revoked_at, last_used_at) ON api_tokens TO klaxon_app;

-- Incidents move through their states (the trigger keeps terminal ones final); they
-- are never deleted. UPDATE also allows the row locks (FOR UPDATE, and FOR UPDATE OF
-- incidents SKIP LOCKED in degraded mode), which need UPDATE on some column.
GRANT SELECT, INSERT, UPDATE ON incidents TO klaxon_app;

-- The configuration: people, teams, schedules, policies, services.
GRANT SELECT, INSERT, UPDATE, DELETE ON
  users, teams, team_members,
  schedules, schedule_members, schedule_overrides,
  escalation_policies, escalation_policy_levels, escalation_policy_targets,
  services
TO klaxon_app;

-- Down Migration

-- Only this database's grants: the role itself is shared by every database of the
-- cluster that runs klaxon, so it is left in place.
REVOKE ALL ON
  incident_events, audit_log, escalations, api_tokens, incidents,
  users, teams, team_members,
  schedules, schedule_members, schedule_overrides,
  escalation_policies, escalation_policy_levels, escalation_policy_targets,
  services
FROM klaxon_app;
REVOKE USAGE ON SCHEMA public FROM klaxon_app;
