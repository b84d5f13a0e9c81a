/**
 * Users, teams and services: the records escalation policies page and incidents belong
 * to. Plain data, and the errors their commands raise on purpose (mapped by
 * src/api/problem.ts as the ConflictError and InUseError they are).
 */
import { ConflictError, InUseError } from './errors.ts';

export interface User {
  id: string;
  name: string;
  email: string;
  /** E.164, e.g. +4915112345678. */
  phone: string | null;
  /** An IANA time zone name. */
  timeZone: string;
  /** Whether they are told when an incident they were paged for is acknowledged / resolved (issue 11). */
  notifyOnAcknowledged: boolean;
  notifyOnResolved: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface TeamMember {
  id: string;
  name: string;
  email: string;
}

export interface Team {
  id: string;
  name: string;
  /** In the order they were given. */
  members: TeamMember[];
  createdAt: Date;
  updatedAt: Date;
}

export interface Service {
  id: string;
  name: string;
  description: string | null;
  /** Null: the service's incidents follow the default policy. */
  escalationPolicyId: string | null;
  /** Null: organisation-wide. */
  teamId: string | null;
  /** Whether incidents that alerts open start escalating on the policy at once (issue 12); default true. */
  autoEscalate: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** What refers to a record and keeps it from being deleted. */
export interface Usage {
  kind: string;
  id: string;
  name: string;
}

/** Another record already has this value in a field that must be unique: 409 already_exists. */
export class AlreadyExistsError extends ConflictError {
  constructor(
    resource: string,
    readonly field: string,
    value: string,
  ) {
    super('already_exists', `another ${resource} already has the ${field} ${JSON.stringify(value)} (compared case-insensitively)`, {
      field,
    });
  }
}

/** A service with incidents: incidents are kept for the audit trail, so the service stays too. */
export class ServiceHasIncidentsError extends InUseError {
  constructor(
    usedBy: Usage[],
    readonly incidentCount: number,
  ) {
    super('service', usedBy);
    this.message =
      `this service has ${incidentCount} incident${incidentCount === 1 ? '' : 's'}, and incidents are never deleted ` +
      '(incidents.service_id is ON DELETE RESTRICT), so it cannot be deleted; ' +
      `the newest: ${usedBy.map((usage) => JSON.stringify(usage.name)).join(', ')}`;
  }
}

/**
 * A service with integration keys cannot be deleted: keys are never deleted (the alert
 * log refers to them; a revoked one stays revoked), and they refer to their service.
 */
export class ServiceHasIntegrationKeysError extends InUseError {
  constructor(usedBy: Usage[]) {
    super('service', usedBy);
    this.message =
      'this service has integration keys, which are kept (revoked or not) for the alert log, so it cannot be deleted; ' +
      `its keys: ${usedBy.map((usage) => JSON.stringify(usage.name)).join(', ')}`;
  }
}
