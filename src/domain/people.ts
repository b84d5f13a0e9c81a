/**
 * Users, teams and services: the records escalation policies page and incidents belong
 * to. Plain data, and the errors their commands raise on purpose.
 */
import { DomainError } from './errors.ts';

export interface User {
  id: string;
  name: string;
  email: string;
  /** E.164, e.g. +4915112345678. */
  phone: string | null;
  /** An IANA time zone name. */
  timeZone: string;
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
  createdAt: Date;
  updatedAt: Date;
}

/** Another record already has this value in a field that must be unique. */
export class AlreadyExistsError extends DomainError {
  readonly code = 'already_exists';
  constructor(readonly resource: string, readonly field: string, value: string) {
    super(`another ${resource} already has the ${field} ${JSON.stringify(value)} (compared case-insensitively)`);
  }
}

/** Something that refers to a record and keeps it from being deleted. */
export interface Usage {
  /** schedule (a rotation), schedule_override, escalation_policy or incident. */
  type: string;
  id: string;
  name: string;
}

/** A record cannot be deleted while others refer to it. */
export class InUseError extends DomainError {
  readonly code = 'in_use';
  /**
   * @param usedBy the first few of what refers to it
   * @param usedByCount how many there are in all
   */
  constructor(message: string, readonly usedBy: Usage[], readonly usedByCount: number) {
    super(message);
  }
}

/** A body names records that do not exist. */
export class ReferenceNotFoundError extends DomainError {
  readonly code = 'reference_not_found';
  constructor(readonly resource: string, readonly field: string, readonly missingIds: string[]) {
    super(`no ${resource} with the id ${missingIds.join(', ')} (${field})`);
  }
}
