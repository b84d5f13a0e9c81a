/**
 * Errors at the HTTP edge, as RFC 9457 problem details (application/problem+json).
 * Domain errors are mapped to statuses here, once; anything unexpected becomes a
 * logged 500 whose body leaks nothing.
 */
import type Koa from 'koa';
import {
  ConflictError,
  DomainError,
  InUseError,
  InvalidInputError,
  NotFoundError,
  ReferenceNotFoundError,
  VersionConflictError,
} from '../domain/errors.ts';
import { InvalidTransitionError } from '../domain/incident-states.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import type { Logger } from '../log/logger.ts';

export interface FieldError {
  /** The field, as a dotted path into the body or the query parameter's name. */
  field: string;
  /** The rule it broke (required, type, maxLength, enum, additionalProperties, ...). */
  rule: string;
  message: string;
}

/** An error that already knows its HTTP answer. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

export function validationProblem(where: 'body' | 'query' | 'path', errors: FieldError[]): HttpProblem {
  const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  return new HttpProblem(400, 'validation_failed', `The request ${where} is invalid`, detail, { errors });
}


interface PgError {
  code: string;
  message: string;
  table?: string;
  constraint?: string;
  detail?: string;
}

/**
 * The database's integrity rules as answers: a duplicate name is a 409, deleting
 * something still in use is a 409 naming what uses it, a reference to something
 * that does not exist is a 422. Commands check the common cases themselves with
 * friendlier words; this catches the races between their check and the write.
 */
function constraintProblem(error: PgError): HttpProblem {
  if (error.code === '23505') {
    // "Key (lower(name))=(payments) already exists." -> name; a key scoped by team
    // ("Key (COALESCE(team_id, ...), lower(name))=...") names its last column.
    const key = /^Key \((.*)\)=\(/.exec(error.detail ?? '')?.[1] ?? 'value';
    const field = /(\w+)\)?$/.exec(key.split(', ').at(-1) ?? key)?.[1] ?? 'value';
    return new HttpProblem(409, 'already_exists', 'Already exists', `another ${singular(error.table)} has this ${field}`, {
      field,
    });
  }
  const usedBy = /on table "(\w+)"$/.exec(error.message)?.[1];
  if (/^update or delete on table/.test(error.message)) {
    return new HttpProblem(409, 'in_use', 'Still in use', `this ${singular(error.table)} is still used by ${usedBy ?? 'other records'}; remove those references first`, {
      used_by: usedBy,
    });
  }
  return new HttpProblem(422, 'reference_not_found', 'Unknown reference', `a referenced ${usedBy ? singular(usedBy) : 'record'} does not exist`);
}

function singular(table: string | undefined): string {
  if (!table) return 'record';
  const words = table.replace(/_/g, ' ');
  return words.endsWith('ies') ? `${words.slice(0, -3)}y` : words.replace(/s$/, '');
}

function toProblem(error: unknown): HttpProblem | undefined {
  if (error instanceof HttpProblem) return error;
  if (error instanceof InvalidTransitionError) {
    return new HttpProblem(409, error.code, 'Transition not allowed', error.message, {
      current_state: error.current,
      requested_state: error.requested,
      allowed_states: error.allowed,
    });
  }
  if (error instanceof VersionConflictError) {
    return new HttpProblem(409, error.code, 'Version conflict', error.message, {
      expected_version: error.expected,
      current_version: error.actual,
    });
  }
  if (error instanceof InvalidInputError) return validationProblem(error.location, error.errors);
  if (error instanceof ReferenceNotFoundError) {
    return new HttpProblem(422, error.code, 'Unknown reference', error.message, { errors: error.errors });
  }
  if (error instanceof InUseError) {
    return new HttpProblem(409, error.code, 'Still in use', error.message, { used_by: error.usedBy });
  }
  if (error instanceof ConflictError) {
    const title = error.code === 'already_exists' ? 'Already exists' : 'Conflict';
    return new HttpProblem(409, error.code, title, error.message, error.details);
  }
  if (error instanceof NotFoundError) {
    return new HttpProblem(404, error.code, 'Not found', error.message);
  }
  if (error instanceof DomainError) {
    return new HttpProblem(422, error.code, 'Request refused', error.message);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === '23505' || code === '23503') return constraintProblem(error as PgError);
  if (isDatabaseUnavailable(error)) {
    return new HttpProblem(503, 'database_unavailable', 'Service unavailable', 'the database is unreachable; retry shortly');
  }
  return undefined;
}

export function writeProblem(ctx: Koa.Context, problem: HttpProblem): void {
  ctx.status = problem.status;
  ctx.type = 'application/problem+json';
  if (problem.status === 503) ctx.set('Retry-After', '5');
  ctx.body = {
    type: `urn:klaxon:problem:${problem.code}`,
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    code: problem.code,
    instance: ctx.path,
    request_id: ctx.state.requestId as string | undefined,
    ...problem.extra,
  };
}

function bodilessProblem(ctx: Koa.Context): HttpProblem {
  if (ctx.status === 404) {
    return new HttpProblem(404, 'route_not_found', 'Not found', `no route for ${ctx.method} ${ctx.path}`);
  }
  if (ctx.status === 405) {
    return new HttpProblem(405, 'method_not_allowed', 'Method not allowed', `${ctx.method} is not allowed here; allowed: ${ctx.response.get('Allow')}`);
  }
  return new HttpProblem(ctx.status, 'http_error', ctx.message, ctx.message);
}

/** The outermost error boundary of the app. */
export function problemHandler(logger: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      // A status set with no body (an unknown route, a wrong method) still gets a problem body.
      if (ctx.status >= 400 && (ctx.body === undefined || ctx.body === null)) throw bodilessProblem(ctx);
    } catch (error) {
      const problem = toProblem(error);
      if (problem) {
        if (problem.status >= 500) logger.warn('request failed: dependency unavailable', { error });
        writeProblem(ctx, problem);
        return;
      }
      logger.error('unhandled error', { error });
      writeProblem(ctx, new HttpProblem(500, 'internal_error', 'Internal server error', 'an unexpected error occurred; it has been logged'));
    }
  };
}
