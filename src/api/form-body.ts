/**
 * The raw body of a form-encoded request (Slack interactions, Twilio callbacks), for the
 * endpoints that verify a provider's signature: Slack signs the bytes as sent, so they are
 * kept as received (decoded as UTF-8, never re-encoded) and parsed only after the
 * signature checked. Declared endpoints with no JSON `body` are never read by the router
 * (src/api/request.ts), so the stream is still whole when the handler reads it here.
 */
import type Koa from 'koa';
import getRawBody from 'raw-body';
import { HttpProblem } from './problem.ts';

export interface FormBody {
  /** The body exactly as received (what Slack's signature covers). */
  raw: string;
  form: URLSearchParams;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function readFormBody(ctx: Koa.Context, limitBytes: number): Promise<FormBody> {
  const encoding = ctx.get('content-encoding').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    throw new HttpProblem(415, 'unsupported_media_type', 'Unsupported media type', 'send the body uncompressed');
  }
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new HttpProblem(415, 'unsupported_media_type', 'Unsupported media type', 'send the body as application/x-www-form-urlencoded');
  }
  let bytes: Buffer;
  try {
    bytes = await getRawBody(ctx.req, { limit: limitBytes, length: ctx.get('content-length') || undefined });
  } catch (error) {
    if ((error as { type?: string }).type === 'entity.too.large') {
      throw new HttpProblem(413, 'payload_too_large', 'Payload too large', `the body exceeds the limit of ${limitBytes} bytes`, { limit_bytes: limitBytes });
    }
    throw new HttpProblem(400, 'invalid_body', 'Unreadable body', 'the body could not be read');
  }
  let raw: string;
  try {
    raw = utf8.decode(bytes);
  } catch {
    throw new HttpProblem(400, 'invalid_body', 'Unreadable body', 'the body is not valid UTF-8');
  }
  return { raw, form: new URLSearchParams(raw) };
}
