/**
 * ajv validators, compiled once at start-up. Bodies are validated strictly (no type
 * coercion: `"escalate": "yes"` is an error); query strings arrive as text, so their
 * validator coerces numbers.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type Koa from 'koa';
import { type FieldError, validationProblem } from './problem.ts';
import * as schemas from './schemas.ts';
import { ISO_INSTANT, UUID_PATTERN } from './schemas.ts';

const bodyAjv = new Ajv({ allErrors: true, strict: true });
const queryAjv = new Ajv({ allErrors: true, strict: true, coerceTypes: true });

/** Compiles a body schema once, at module load: strict, no coercion, every error reported. */
export function compileBody<T>(schema: object): ValidateFunction<T> {
  return bodyAjv.compile<T>(schema);
}

/** Compiles a query-string schema once: numbers and booleans are coerced from text. */
export function compileQuery<T>(schema: object): ValidateFunction<T> {
  return queryAjv.compile<T>(schema);
}

export const validators = {
  createIncidentBody: bodyAjv.compile<schemas.CreateIncidentBody>(schemas.createIncidentBody),
  transitionBody: bodyAjv.compile<schemas.TransitionBody>(schemas.transitionBody),
  escalateBody: bodyAjv.compile<schemas.EscalateBody>(schemas.escalateBody),
  reassignBody: bodyAjv.compile<schemas.ReassignBody>(schemas.reassignBody),
  snoozeBody: bodyAjv.compile<schemas.SnoozeBody>(schemas.snoozeBody),
  listIncidentsQuery: queryAjv.compile<schemas.ListIncidentsQuery>(schemas.listIncidentsQuery),
};

/** The parsed body, validated; a missing body counts as `{}` when `optional`. */
export function validBody<T>(ctx: Koa.Context, validate: ValidateFunction<T>, { optional = false } = {}): T {
  const body = ctx.request.body === undefined && optional ? {} : ctx.request.body;
  if (body === undefined) {
    throw validationProblem('body', [{ field: '(body)', rule: 'required', message: 'a JSON object is required' }]);
  }
  if (!validate(body)) throw validationProblem('body', toFieldErrors(validate.errors));
  return body;
}

export function validQuery<T>(ctx: Koa.Context, validate: ValidateFunction<T>): T {
  const query: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(ctx.query)) {
    if (Array.isArray(value)) {
      throw validationProblem('query', [{ field: key, rule: 'maxItems', message: 'may be given only once' }]);
    }
    query[key] = value;
  }
  if (!validate(query)) throw validationProblem('query', toFieldErrors(validate.errors));
  return query;
}

export function toFieldErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).map((error) => {
    const path = error.instancePath.split('/').filter(Boolean).join('.');
    const join = (name: string) => (path ? `${path}.${name}` : name);
    switch (error.keyword) {
      case 'required':
        return { field: join(String(error.params.missingProperty)), rule: 'required', message: 'is required' };
      case 'additionalProperties':
        return {
          field: join(String(error.params.additionalProperty)),
          rule: 'additionalProperties',
          message: 'is not a known field',
        };
      case 'enum':
        return {
          field: path || '(body)',
          rule: 'enum',
          message: `must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`,
        };
      case 'pattern':
        return { field: path || '(body)', rule: 'pattern', message: patternMessage(String(error.params.pattern)) };
      default:
        return { field: path || '(body)', rule: error.keyword, message: error.message ?? 'is invalid' };
    }
  });
}

/** Patterns as people read them. */
const PATTERN_MESSAGES: Record<string, string> = {
  '\\S': 'must contain a non-blank character',
  [UUID_PATTERN]: 'must be a UUID',
  [ISO_INSTANT]: 'must be an ISO 8601 instant with an offset, e.g. 2026-03-01T09:00:00Z (send + as %2B)',
  '^[0-9]+(ms|s|m|h|d)$': 'must be a duration such as 30s, 5m, 1h',
  '^[0-9]+(s|m|h)$': 'must be a duration such as 30s, 5m, 1h',
};

function patternMessage(pattern: string): string {
  return PATTERN_MESSAGES[pattern] ?? `must match ${pattern}`;
}
