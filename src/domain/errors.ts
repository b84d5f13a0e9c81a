/**
 * Errors the domain raises on purpose. Each has a stable `code` that clients may rely
 * on; the HTTP edge (src/api/problem.ts) maps codes to statuses, once.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'not_found';
  constructor(
    readonly resource: string,
    readonly id: string,
  ) {
    super(`${resource} ${id} does not exist`);
  }
}

export class VersionConflictError extends DomainError {
  readonly code = 'version_conflict';
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`the incident is at version ${actual}, not the expected ${expected}; read it again and retry`);
  }
}

export interface FieldIssue {
  /** Dotted path into the request (levels.0.targets.1.id). */
  field: string;
  rule: string;
  message: string;
}

/** Input that is well-formed but breaks a rule a schema cannot express (a delay out of bounds). */
export class InvalidInputError extends DomainError {
  readonly code = 'validation_failed';
  constructor(
    readonly errors: FieldIssue[],
    /** Where the fields are: the body (default) or the query string. */
    readonly location: 'body' | 'query' = 'body',
  ) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}

/** The input names something that does not exist (a target user, a schedule, a policy). */
export class ReferenceNotFoundError extends DomainError {
  readonly code = 'reference_not_found';
  constructor(readonly errors: FieldIssue[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}

/**
 * A team's caller asked for what only an organisation-wide caller may have: a record
 * or token of no team (`team_id: null`). Refused rather than quietly made for the
 * caller's team, which is not what was asked.
 */
export class TeamNotAllowedError extends DomainError {
  readonly code = 'team_not_allowed';
  constructor(readonly errors: FieldIssue[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}

/** Deleting something still in use (a policy a service owns). */
export class InUseError extends DomainError {
  readonly code = 'in_use';
  constructor(
    readonly resource: string,
    readonly usedBy: { kind: string; id: string; name: string }[],
  ) {
    super(`this ${resource} is still used by ${usedBy.map((u) => `${u.kind} "${u.name}"`).join(', ')}; ` + 'change or remove those first');
  }
}

/** A request that conflicts with the incident as it is now (a stale level, nothing left to escalate to). */
export class ConflictError extends DomainError {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
