/**
 * What a request carries, read strictly and validated against its endpoint's
 * schemas: the path parameters, the query string and the JSON body. Anything off is
 * a 400 (413, 415) naming the part, the field and the rule, before a handler runs.
 *
 * - Query values arrive as text and are typed here, strictly: an integer is decimal
 *   digits only (not `Infinity`, `1e999`, `0x10` or ` 5`, all of which a coercing
 *   validator would take), a boolean is `true` or `false`; a parameter the endpoint does
 *   not declare (`__proto__` included) or given twice is refused.
 * - A body must be JSON (415 otherwise), not compressed (415 for any Content-Encoding
 *   but identity), valid UTF-8 (no byte sequence is silently replaced by U+FFFD), with
 *   no lone surrogate and no U+0000 in any string or key (Postgres text can hold
 *   neither). Token-shaped strings in it are redacted before anything can store them.
 */
import type Koa from 'koa';
import getRawBody from 'raw-body';
import { redactApiTokens } from '../domain/tokens.ts';
import type { FieldIssue } from '../domain/errors.ts';
import { hasLoneSurrogate } from '../schema/formats.ts';
import type { Validation, Validator } from '../schema/validator.ts';
import type { Endpoint } from './endpoint.ts';
import { HttpProblem, type RequestPart, validationProblem } from './problem.ts';

export interface RequestInput {
  params: Record<string, string>;
  query: unknown;
  body: unknown;
}

export async function readRequest(ctx: Koa.Context, endpoint: Endpoint, bodyLimitBytes: number): Promise<RequestInput> {
  const params = valid('path', endpoint.validate.params, { ...(ctx.params as Record<string, string>) }) as Record<string, string>;
  const query = valid('query', endpoint.validate.query, typedQuery(ctx.querystring, endpoint.query));
  let body: unknown = {};
  if (endpoint.validate.body) {
    const sent = await readJsonBody(ctx, bodyLimitBytes);
    if (sent === undefined && endpoint.bodyRequired) {
      throw validationProblem('body', [{ field: '(body)', rule: 'required', message: 'a JSON object is required' }]);
    }
    body = valid('body', endpoint.validate.body, sent ?? {});
  }
  return { params, query, body };
}

function valid(where: RequestPart, validate: Validator<unknown>, value: unknown): unknown {
  const result: Validation<unknown> = validate(value);
  if (!result.ok) throw validationProblem(where, result.issues);
  return result.value;
}

// The query string -------------------------------------------------------------------------

type PropertyTypes = Record<string, { type?: unknown }>;

const DECIMAL_INTEGER = /^[0-9]{1,15}$/;

/** The query string as an object of typed values, by the endpoint's query schema; a 400 for what it cannot hold. */
function typedQuery(querystring: string, schema: unknown): Record<string, unknown> {
  const declared: PropertyTypes = (schema as { properties?: PropertyTypes }).properties ?? {};
  const query: Record<string, unknown> = {};
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  for (const [name, text] of new URLSearchParams(querystring)) {
    if (!Object.hasOwn(declared, name)) {
      issues.push({ field: name, rule: 'additionalProperties', message: 'is not a known parameter' });
      continue;
    }
    if (seen.has(name)) {
      issues.push({ field: name, rule: 'maxItems', message: 'may be given only once' });
      continue;
    }
    seen.add(name);
    const typed = typedValue(text, declared[name]?.type);
    if (typed.ok) query[name] = typed.value;
    else issues.push({ field: name, rule: 'type', message: typed.message });
  }
  if (issues.length > 0) throw validationProblem('query', issues);
  return query;
}

function typedValue(text: string, type: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  if (type === 'integer') {
    return DECIMAL_INTEGER.test(text) ? { ok: true, value: Number(text) } : { ok: false, message: 'must be a whole number written in decimal digits' };
  }
  if (type === 'boolean') {
    return text === 'true' || text === 'false' ? { ok: true, value: text === 'true' } : { ok: false, message: 'must be true or false' };
  }
  return { ok: true, value: text };
}

// The body ----------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The parsed JSON body; undefined when the request has none (or only white space). */
export async function readJsonBody(ctx: Koa.Context, limitBytes: number): Promise<unknown> {
  return (await readJsonPayload(ctx, limitBytes))?.body;
}

/**
 * The JSON body as sent (the bytes a webhook's signature covers) and parsed, checked as
 * readJsonBody's is; undefined when the request has none (or only white space).
 */
export async function readJsonPayload(ctx: Koa.Context, limitBytes: number): Promise<{ bytes: Buffer; body: unknown } | undefined> {
  if (!hasBody(ctx)) return undefined;
  const encoding = ctx.get('content-encoding').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    throw new HttpProblem(
      415,
      'unsupported_media_type',
      'Unsupported media type',
      `Content-Encoding "${encoding.slice(0, 40)}" is not supported: send the body uncompressed`,
    );
  }
  if (!ctx.is('application/json', 'application/*+json')) {
    throw new HttpProblem(415, 'unsupported_media_type', 'Unsupported media type', 'send the body as application/json');
  }
  const charset = ctx.request.charset.toLowerCase();
  if (charset !== '' && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpProblem(415, 'unsupported_media_type', 'Unsupported media type', 'the body must be UTF-8 JSON');
  }
  let bytes: Buffer;
  try {
    bytes = await getRawBody(ctx.req, { limit: limitBytes, length: ctx.get('content-length') || undefined });
  } catch (error) {
    throw bodyReadProblem(error, limitBytes);
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new HttpProblem(400, 'invalid_body', 'Unreadable body', 'the body is not valid UTF-8');
  }
  if (text.trim() === '') return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpProblem(400, 'invalid_json', 'Malformed JSON', `the body is not valid JSON: ${(error as Error).message}`);
  }
  return { bytes, body: inspectStrings(body) };
}

/**
 * Every string and key of a parsed body, walked without recursion (a body may nest
 * 30,000 deep): refuses U+0000 and lone surrogates (which JSON can spell as \u0000 and
 * \ud800), naming the first field that holds one, and redacts token-shaped strings in
 * place, so a token pasted into a title or a note is never stored.
 */
function inspectStrings(body: unknown): unknown {
  const refuse = (field: string, message: string) => validationProblem('body', [{ field: field || '(body)', rule: 'format', message }]);
  const check = (text: string, field: string) => {
    if (text.includes('\u0000')) throw refuse(field, 'must not contain the character U+0000 (NUL)');
    if (hasLoneSurrogate(text)) throw refuse(field, 'must be well-formed Unicode (it holds a lone surrogate)');
  };
  if (typeof body === 'string') {
    check(body, '');
    return redactApiTokens(body);
  }
  const pending: [value: object, path: string][] = typeof body === 'object' && body !== null ? [[body, '']] : [];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [container, path] = next;
    const record = container as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const field = path ? `${path}.${key}` : key;
      check(key, field);
      const value = record[key];
      if (typeof value === 'string') {
        check(value, field);
        // API tokens only: an integration key is what the Events API's routing_key holds.
        record[key] = redactApiTokens(value);
      } else if (typeof value === 'object' && value !== null) {
        pending.push([value, field]);
      }
    }
  }
  return body;
}

function hasBody(ctx: Koa.Context): boolean {
  const length = ctx.get('content-length');
  return ctx.get('transfer-encoding') !== '' || (length !== '' && length !== '0');
}

function bodyReadProblem(error: unknown, limitBytes: number): HttpProblem {
  const type = (error as { type?: string }).type;
  if (type === 'entity.too.large') {
    return new HttpProblem(413, 'payload_too_large', 'Payload too large', `the body exceeds the limit of ${limitBytes} bytes`, {
      limit_bytes: limitBytes,
    });
  }
  return new HttpProblem(400, 'invalid_body', 'Unreadable body', `the body could not be read: ${(error as Error).message}`);
}
