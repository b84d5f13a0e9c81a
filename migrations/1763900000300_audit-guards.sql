-- Up Migration

-- The audit trail is enforced by the database, not only by the code: whatever client
-- connects (a bug, a script, a hurried operator in psql), these triggers refuse to
-- rewrite history. Errors carry SQLSTATE 23001 (restrict_violation) or 23514
-- (check_violation) so the application can tell them from other failures.

CREATE FUNCTION audit_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on % is refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END;
$$;

-- escalations: no DELETE, no TRUNCATE; an UPDATE may only move the status
-- PENDING -> EXECUTED or PENDING -> CANCELLED, and never rewrite what was scheduled.
CREATE FUNCTION escalations_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id <> OLD.id
     OR NEW.incident_id <> OLD.incident_id
     OR NEW.escalation_level <> OLD.escalation_level
     OR NEW.repeat_cycle <> OLD.repeat_cycle
     OR NEW.scheduled_at <> OLD.scheduled_at
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

CREATE TRIGGER escalations_no_delete BEFORE DELETE ON escalations
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_rewrite();
CREATE TRIGGER escalations_no_truncate BEFORE TRUNCATE ON escalations
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_rewrite();
CREATE TRIGGER escalations_guard_update BEFORE UPDATE ON escalations
  FOR EACH ROW EXECUTE FUNCTION escalations_guard_update();

-- incident_events: insert only.
CREATE TRIGGER incident_events_no_update BEFORE UPDATE ON incident_events
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_rewrite();
CREATE TRIGGER incident_events_no_delete BEFORE DELETE ON incident_events
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_rewrite();
CREATE TRIGGER incident_events_no_truncate BEFORE TRUNCATE ON incident_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_rewrite();

-- incidents: a RESOLVED or CANCELLED incident is final, and incidents are never
-- deleted (their escalations and events refer to them).
CREATE FUNCTION incidents_guard_terminal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state IN ('RESOLVED', 'CANCELLED') THEN
    RAISE EXCEPTION 'incident % is % and can no longer change', OLD.id, OLD.state
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER incidents_guard_terminal BEFORE UPDATE ON incidents
  FOR EACH ROW EXECUTE FUNCTION incidents_guard_terminal();
CREATE TRIGGER incidents_no_delete BEFORE DELETE ON incidents
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_rewrite();
CREATE TRIGGER incidents_no_truncate BEFORE TRUNCATE ON incidents
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_rewrite();

-- Down Migration
DROP TRIGGER incidents_no_truncate ON incidents;
DROP TRIGGER incidents_no_delete ON incidents;
DROP TRIGGER incidents_guard_terminal ON incidents;
DROP FUNCTION incidents_guard_terminal();
DROP TRIGGER incident_events_no_truncate ON incident_events;
DROP TRIGGER incident_events_no_delete ON incident_events;
DROP TRIGGER incident_events_no_update ON incident_events;
DROP TRIGGER escalations_guard_update ON escalations;
DROP TRIGGER escalations_no_truncate ON escalations;
DROP TRIGGER escalations_no_delete ON escalations;
DROP FUNCTION escalations_guard_update();
DROP FUNCTION audit_refuse_rewrite();
