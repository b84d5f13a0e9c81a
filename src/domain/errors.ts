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
  constructor(readonly resource: string, readonly id: string) {
    super(`${resource} ${id} does not exist`);
  }
}

export class VersionConflictError extends DomainError {
  readonly code = 'version_conflict';
  constructor(readonly expected: number, readonly actual: number) {
    super(`the incident is at version ${actual}, not the expected ${expected}; read it again and retry`);
  }
}
