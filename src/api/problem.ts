/**
 * Errors at the HTTP edge, as RFC 9457 problem details (application/problem+json).
 * Domain errors are mapped to statuses here, once; anything unexpected becomes a
 * logged 500 whose body leaks nothing.
 */
import type Koa from 'koa';
import {
  ConflictError,
  DomainError,
  type FieldIssue,
  InUseError,
  InvalidInputError,
  NotFoundError,
  ReferenceNotFoundError,
  TeamNotAllowedError,
  VersionConflictError,
} from '../domain/errors.ts';
import { InvalidTransitionError } from '../domain/incident-states.ts';
import { databaseBusy } from '../db/unavailable.ts';
import { EpisodeLog } from '../log/episode.ts';
import type { Logger } from '../log/logger.ts';

export type FieldError = FieldIssue;

/** Where the fields of a validation problem are. */
export type RequestPart = 'body' | 'query' | 'path' | 'header';

/** An error that already knows its HTTP answer (and any headers that go with it: Retry-After, WWW-Authenticate). */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }

  /** For Koa's own error handler, should one ever see it: a 4xx's detail is meant for the client. */
  get expose(): boolean {
    return this.status < 500;
  }
}

/**
 * A problem a person meets in a browser (an expired or invalid action link): answered as
 * its HTML page when the client prefers HTML to JSON, as problem+json otherwise.
 */
export class PageProblem extends HttpProblem {
  constructor(
    status: number,
    code: string,
    title: string,
    detail: string,
    readonly page: string,
    headers: Record<string, string> = {},
  ) {
    super(status, code, title, detail, {}, headers);
  }
}

/**
 * A refusal answered in the shape another API's clients parse, not problem+json: the
 * Events API v2's `{status, message, errors}` on POST /v2/enqueue (issue 12), whose
 * existing client libraries must work unchanged.
 */
export class ProtocolProblem extends HttpProblem {
  constructor(
    status: number,
    code: string,
    detail: string,
    readonly answer: Record<string, unknown>,
  ) {
    super(status, code, detail, detail);
  }
}

export function validationProblem(where: RequestPart, errors: FieldError[]): HttpProblem {
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
    return new HttpProblem(
      409,
      'in_use',
      'Still in use',
      `this ${singular(error.table)} is still used by ${usedBy ?? 'other records'}; remove those references first`,
      {
        used_by: usedBy,
      },
    );
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
  if (error instanceof TeamNotAllowedError) {
    return new HttpProblem(422, error.code, 'Not for a team', error.message, { errors: error.errors });
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
  const busy = databaseBusy(error);
  if (busy === 'overloaded') {
    return new HttpProblem(
      503,
      'overloaded',
      'Overloaded',
      'every database connection of this API process is busy; retry in a second',
      {},
      {
        'Retry-After': '1',
      },
    );
  }
  if (busy === 'unavailable') {
    return new HttpProblem(503, 'database_unavailable', 'Service unavailable', 'the database is unreachable; retry shortly', {}, { 'Retry-After': '5' });
  }
  return undefined;
}

export function writeProblem(ctx: Koa.Context, problem: HttpProblem): void {
  if (problem instanceof ProtocolProblem) {
    ctx.status = problem.status;
    ctx.type = 'application/json';
    ctx.set(problem.headers);
    ctx.body = problem.answer;
    return;
  }
  if (problem instanceof PageProblem && ctx.accepts('application/json', 'text/html') === 'text/html') {
    ctx.status = problem.status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set(problem.headers);
    ctx.body = problem.page;
    return;
  }
  ctx.status = problem.status;
  ctx.type = 'application/problem+json';
  ctx.set(problem.headers);
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

/**
 * The outermost error boundary of the app. Refusals are the caller's business and
 * show in the access log line only; an overloaded pool and an unreachable database
 * are logged as episodes (a line when one starts, a count each second, a line when
 * it ends), not once per request; anything unexpected is a logged 500.
 */
export function problemHandler(logger: Logger): Koa.Middleware {
  const episodes: Record<string, EpisodeLog> = {
    overloaded: new EpisodeLog(logger, {
      level: 'warn',
      started: 'overloaded: refusing requests with 503 overloaded (every database connection busy, or too many requests at once)',
      continuing: 'still overloaded',
      ended: 'no longer overloaded',
    }),
    database_unavailable: new EpisodeLog(logger, {
      level: 'warn',
      started: 'the database is unreachable; refusing requests with 503 database_unavailable',
      continuing: 'the database is still unreachable',
      ended: 'the database answers again',
    }),
  };
  return async (ctx, next) => {
    try {
      await next();
      // A status set with no body still gets a problem body.
      if (ctx.status >= 400 && (ctx.body === undefined || ctx.body === null)) {
        throw new HttpProblem(ctx.status, 'http_error', ctx.message, ctx.message);
      }
    } catch (error) {
      const problem = toProblem(error);
      if (problem) {
        episodes[problem.code]?.record({ error });
        writeProblem(ctx, problem);
        return;
      }
      logger.error('unhandled error', { error });
      writeProblem(ctx, new HttpProblem(500, 'internal_error', 'Internal server error', 'an unexpected error occurred; it has been logged'));
    }
  };
}
