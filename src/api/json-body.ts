/**
 * Reads a JSON request body with a size limit. Answers 413 past the limit, 415 for a
 * body that is not JSON, and 400 for JSON that does not parse, each as a problem.
 */
import type Koa from 'koa';
import getRawBody from 'raw-body';
import { HttpProblem, validationProblem } from './problem.ts';

declare module 'koa' {
  interface Request {
    /** The parsed JSON body; undefined when the request had none. */
    body?: unknown;
  }
}

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

export function jsonBody(limitBytes: number): Koa.Middleware {
  return async (ctx, next) => {
    if (!METHODS_WITH_BODY.has(ctx.method) || !hasBody(ctx)) {
      await next();
      return;
    }
    if (!ctx.is('application/json', 'application/*+json')) {
      throw new HttpProblem(415, 'unsupported_media_type', 'Unsupported media type', 'send the body as application/json');
    }
    let text: string;
    try {
      text = await getRawBody(ctx.req, {
        limit: limitBytes,
        length: ctx.get('content-length') || undefined,
        encoding: 'utf8',
      });
    } catch (error) {
      throw bodyReadProblem(error, limitBytes);
    }
    if (text.trim() !== '') {
      try {
        ctx.request.body = JSON.parse(text) as unknown;
      } catch (error) {
        throw new HttpProblem(400, 'invalid_json', 'Malformed JSON', `the body is not valid JSON: ${(error as Error).message}`);
      }
      // JSON may spell U+0000 (\u0000) but Postgres text cannot store it: the insert would fail as a 500 (found by test/api/fuzz.test.ts).
      const field = text.includes('\\u0000') ? nulAt(ctx.request.body) : undefined;
      if (field !== undefined) {
        throw validationProblem('body', [{ field, rule: 'format', message: 'must not contain the character U+0000 (NUL)' }]);
      }
    }
    await next();
  };
}

/** The dotted path of the first string or key holding U+0000, walked without recursion (a body may nest 10,000 deep). */
function nulAt(body: unknown): string | undefined {
  const pending: [value: unknown, path: string][] = [[body, '']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, path] = next;
    if (typeof value === 'string' && value.includes('\u0000')) return path || '(body)';
    if (typeof value !== 'object' || value === null) continue;
    for (const [key, inner] of Object.entries(value)) {
      const inside = path ? `${path}.${key}` : key;
      if (key.includes('\u0000')) return inside;
      pending.push([inner, inside]);
    }
  }
  return undefined;
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
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new HttpProblem(415, 'unsupported_media_type', 'Unsupported media type', 'the body must be UTF-8 JSON');
  }
  return new HttpProblem(400, 'invalid_body', 'Unreadable body', `the body could not be read: ${(error as Error).message}`);
}
