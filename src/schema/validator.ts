/**
 * Validation with the schemas of ./types.ts: one strict ajv, every format of
 * ./formats.ts registered, no type coercion (a query string is turned into typed
 * values by src/api/request.ts before it gets here, strictly). A validator reports
 * every broken rule as a FieldIssue naming the field, and hands back the value
 * normalised as its formats say (ids in lower case, time zones canonical).
 */
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FieldIssue } from '../domain/errors.ts';
import { FORMATS, FORMAT_MESSAGES, type FormatName } from './formats.ts';
import type { Static, TSchema } from './types.ts';

// ajv-formats is CommonJS: under nodenext its default import is module.exports, whose `default` is the plugin.
const addFormats = addFormatsModule.default;

const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
addFormats(ajv, ['email']);
for (const [name, format] of Object.entries(FORMATS)) ajv.addFormat(name, { type: 'string', validate: format.valid });

/**
 * At most this many issues are reported: a 10,000-item array of wrong values would
 * otherwise answer with 10,000 of them. The answer says how many more there were.
 */
export const MAX_REPORTED_ISSUES = 20;

export type Validation<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };

export interface Validator<T> {
  (value: unknown): Validation<T>;
  readonly schema: TSchema;
}

/** Compiles a schema (once, at start-up) into a validator that also normalises what it accepts. */
export function compile<T extends TSchema>(schema: T): Validator<Static<T>> {
  const validate = ajv.compile(schema);
  const normalise = normaliserFor(schema);
  const validator = (value: unknown): Validation<Static<T>> => {
    if (!validate(value)) return { ok: false, issues: toFieldIssues(validate.errors) };
    return { ok: true, value: normalise(value) as Static<T> };
  };
  return Object.assign(validator, { schema });
}

// Normalising ---------------------------------------------------------------------------

type Normaliser = (value: unknown) => unknown;
const unchanged: Normaliser = (value) => value;

/**
 * A function that rewrites, in place, every string of a value whose schema names a
 * format with a `normalise`: built once from the schema, so values of schemas without
 * any cost nothing. Only `properties` and `items` are followed (the API's request
 * schemas use no anyOf/oneOf; the tests hold them to that).
 */
function normaliserFor(schema: unknown): Normaliser {
  if (typeof schema !== 'object' || schema === null) return unchanged;
  const node = schema as Record<string, unknown>;
  const format = typeof node.format === 'string' ? (FORMATS as Record<string, { normalise?: (v: string) => string }>)[node.format] : undefined;
  if (format?.normalise) {
    const normalise = format.normalise;
    return (value) => (typeof value === 'string' ? normalise(value) : value);
  }
  if (node.items !== undefined) {
    const item = normaliserFor(node.items);
    if (item === unchanged) return unchanged;
    return (value) => (Array.isArray(value) ? value.map(item) : value);
  }
  if (typeof node.properties === 'object' && node.properties !== null) {
    const fields = Object.entries(node.properties)
      .map(([name, inner]) => [name, normaliserFor(inner)] as const)
      .filter(([, normalise]) => normalise !== unchanged);
    if (fields.length === 0) return unchanged;
    return (value) => {
      if (typeof value !== 'object' || value === null) return value;
      const record = value as Record<string, unknown>;
      for (const [name, normalise] of fields) if (Object.hasOwn(record, name)) record[name] = normalise(record[name]);
      return value;
    };
  }
  return unchanged;
}

// Errors as people read them ----------------------------------------------------------------

/** Patterns as people read them. */
const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  '\\S': 'must contain a non-blank character',
  '^[^\\u0000-\\u001f\\u007f-\\u009f]{16,200}$': 'must be 16 to 200 characters, none of them a control character',
  '^[0-9]+(ms|s|m|h|d)$': 'must be a duration such as 30s, 5m, 1h',
  '^[0-9]+(s|m|h)$': 'must be a duration such as 30s, 5m, 1h',
  '^([01][0-9]|2[0-3]):[0-5][0-9]$': 'must be a time of day HH:MM, such as 09:00',
};

export function toFieldIssues(errors: ErrorObject[] | null | undefined): FieldIssue[] {
  const all = errors ?? [];
  const issues = all.slice(0, MAX_REPORTED_ISSUES).map(toFieldIssue);
  if (all.length > MAX_REPORTED_ISSUES) {
    issues.push({ field: '(more)', rule: 'maxErrors', message: `and ${all.length - MAX_REPORTED_ISSUES} more problems like these` });
  }
  return issues;
}

function toFieldIssue(error: ErrorObject): FieldIssue {
  const path = error.instancePath.split('/').filter(Boolean).join('.');
  const field = path || '(body)';
  const join = (name: string) => (path ? `${path}.${name}` : name);
  switch (error.keyword) {
    case 'required':
      return { field: join(String(error.params.missingProperty)), rule: 'required', message: 'is required' };
    case 'additionalProperties':
      return { field: join(String(error.params.additionalProperty)), rule: 'additionalProperties', message: 'is not a known field' };
    case 'enum':
      return { field, rule: 'enum', message: `must be one of ${(error.params.allowedValues as unknown[]).map(String).join(', ')}` };
    case 'type': {
      const types = ([] as unknown[]).concat(error.params.type).map(String);
      return { field, rule: 'type', message: `must be ${types.map((t) => (t === 'integer' ? 'a whole number' : t)).join(' or ')}` };
    }
    case 'format':
      return { field, rule: 'format', message: FORMAT_MESSAGES[error.params.format as FormatName] ?? `must be a ${String(error.params.format)}` };
    case 'pattern': {
      const pattern = String(error.params.pattern);
      return { field, rule: 'pattern', message: PATTERN_MESSAGES[pattern] ?? `must match ${pattern}` };
    }
    default:
      return { field, rule: error.keyword, message: error.message ?? 'is invalid' };
  }
}
