/**
 * What /users, /teams and /services accept: JSON schemas compiled once at load, plus
 * the formats ajv cannot check with a useful message here (email, E.164 phone, IANA
 * time zone, UUIDs). validRecordBody checks both at once, so one answer names every
 * broken rule. Unknown fields are refused; an edit must change at least one field.
 */
import type { ValidateFunction } from 'ajv';
import type Koa from 'koa';
import { isUuid } from '../../domain/ids.ts';
import { type FieldError, validationProblem } from '../problem.ts';
import { compileBody, compileQuery, toFieldErrors, validBody } from '../validate.ts';

const name = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;

const userFields = {
  name,
  email: { type: 'string', minLength: 3, maxLength: 320 },
  phone: { type: 'string', nullable: true },
  time_zone: { type: 'string', minLength: 1, maxLength: 64 },
} as const;

const teamFields = {
  name,
  member_ids: { type: 'array', items: { type: 'string' }, uniqueItems: true, maxItems: 500 },
} as const;

const serviceFields = {
  name,
  description: { type: 'string', maxLength: 2000, nullable: true },
  escalation_policy_id: { type: 'string', nullable: true },
} as const;

/** The create schema (these fields required) and the edit schema (any, at least one). */
function createAndEdit(properties: object, required: string[]) {
  return {
    create: { type: 'object', additionalProperties: false, required, properties },
    edit: { type: 'object', additionalProperties: false, minProperties: 1, properties },
  };
}

export const userBodies = createAndEdit(userFields, ['name', 'email']);
export const teamBodies = createAndEdit(teamFields, ['name']);
// A service's team is chosen when it is made, and never changes.
export const serviceBodies = {
  create: createAndEdit({ ...serviceFields, team_id: { type: 'string', nullable: true } }, ['name']).create,
  edit: createAndEdit(serviceFields, []).edit,
};

export const listByNameQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 200 },
    cursor: { type: 'string', minLength: 1, maxLength: 2000 },
  },
} as const;

export interface UserBody {
  name: string;
  email: string;
  phone?: string | null;
  time_zone?: string;
}

export interface TeamBody {
  name: string;
  member_ids?: string[];
}

export interface ServiceBody {
  name: string;
  description?: string | null;
  escalation_policy_id?: string | null;
  team_id?: string | null;
}

export interface ListByNameQuery {
  limit?: number;
  cursor?: string;
}

// Formats -------------------------------------------------------------------------------

/** Checks one field of a body that passed its type rules; returns what is wrong. */
type FormatCheck = (value: unknown, field: string) => FieldError[];

function stringFormat(test: (value: string) => boolean, message: string): FormatCheck {
  return (value, field) => (typeof value === 'string' && !test(value) ? [{ field, rule: 'format', message }] : []);
}

/** Something@domain.tld, no blanks, one @. */
const EMAIL = /^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$/;
/** E.164: +, a country code that does not start with 0, 7 to 15 digits in all. */
const E164 = /^\+[1-9][0-9]{6,14}$/;

/** The canonical IANA name of a time zone (`europe/berlin` -> `Europe/Berlin`), or undefined. */
export function canonicalTimeZone(zone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

const uuid = stringFormat(isUuid, 'must be a UUID');

const uuidList: FormatCheck = (value, field) => {
  if (!Array.isArray(value)) return [];
  const errors = value.flatMap((item, index) => uuid(item, `${field}.${index}`));
  const given = value.filter((item): item is string => typeof item === 'string');
  // ajv's uniqueItems catches exact repeats; the same UUID in other letter case is one too.
  if (new Set(given.map((item) => item.toLowerCase())).size < new Set(given).size) {
    errors.push({ field, rule: 'uniqueItems', message: 'must not name the same id twice (in any letter case)' });
  }
  return errors;
};

const USER_FORMATS: Record<string, FormatCheck> = {
  email: stringFormat((value) => EMAIL.test(value), 'must look like an email address, such as ada@example.com'),
  phone: stringFormat((value) => E164.test(value), 'must be an E.164 phone number: + and 7 to 15 digits, such as +4915112345678'),
  time_zone: stringFormat((value) => canonicalTimeZone(value) !== undefined, 'must be an IANA time zone, such as Europe/Berlin or UTC'),
};
const TEAM_FORMATS: Record<string, FormatCheck> = { member_ids: uuidList };
const SERVICE_FORMATS: Record<string, FormatCheck> = { escalation_policy_id: uuid, team_id: uuid };

export interface BodyRules<T> {
  validate: ValidateFunction<T>;
  formats: Record<string, FormatCheck>;
}

function rules<T>(schema: object, formats: Record<string, FormatCheck>): BodyRules<T> {
  return { validate: compileBody<T>(schema), formats };
}

export const bodyRules = {
  createUser: rules<UserBody>(userBodies.create, USER_FORMATS),
  editUser: rules<Partial<UserBody>>(userBodies.edit, USER_FORMATS),
  createTeam: rules<TeamBody>(teamBodies.create, TEAM_FORMATS),
  editTeam: rules<Partial<TeamBody>>(teamBodies.edit, TEAM_FORMATS),
  createService: rules<ServiceBody>(serviceBodies.create, SERVICE_FORMATS),
  editService: rules<Partial<ServiceBody>>(serviceBodies.edit, SERVICE_FORMATS),
};

export const validListByNameQuery = compileQuery<ListByNameQuery>(listByNameQuery);

/** The body, valid by its schema and formats; else a 400 naming every broken rule. */
export function validRecordBody<T>(ctx: Koa.Context, { validate, formats }: BodyRules<T>): T {
  const body: unknown = ctx.request.body;
  const errors = body !== undefined && !validate(body) ? toFieldErrors(validate.errors) : [];
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const fields = body as Record<string, unknown>;
    for (const [field, check] of Object.entries(formats)) errors.push(...check(fields[field], field));
  }
  if (errors.length > 0) throw validationProblem('body', errors);
  return validBody(ctx, validate); // a missing body is refused here
}
