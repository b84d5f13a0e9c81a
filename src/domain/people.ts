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
