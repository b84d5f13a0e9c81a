/**
 * What an API token is: `klx_<public id>_<secret>`, and the record the database keeps
 * of one (never the secret). The prefix makes a leaked token easy to recognise (secret
 * scanners, log reviews); the public id names the token in lists, logs and the audit
 * log. Pure: making and hashing secrets is src/auth/token-format.ts's.
 */
import { INTEGRATION_KEY_PREFIX } from './integration-keys.ts';
import type { Scope } from './scopes.ts';

export const TOKEN_PREFIX = 'klx_';
export const PUBLIC_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const PUBLIC_ID_LENGTH = 12;
/** The secret: 32 random bytes in base64url, 43 characters. */
export const SECRET_BYTES = 32;
const TOKEN_SHAPE = /^klx_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
/** A token anywhere in a text (a path, a request id, a note pasted by mistake). */
const TOKEN_ANYWHERE = /klx_([a-z0-9]{12})_[A-Za-z0-9_-]{43}/g;

export interface ParsedToken {
  publicId: string;
  secret: string;
}

/** The parts of a well-formed token, or null. */
export function parseToken(token: string): ParsedToken | null {
  const match = TOKEN_SHAPE.exec(token);
  if (!match) return null;
  return { publicId: match[1] as string, secret: match[2] as string };
}

/**
 * An integration key (./integration-keys.ts) anywhere in a text, in any letter case: a
 * key travels in URLs (/integrations/alertmanager/<key>), and a path upper-cased by a
 * caller must not slip past. Its first 8 characters are the hint lists show.
 */
const INTEGRATION_KEY_ANYWHERE = /(klxr[a-z0-9]{4})[a-z0-9]{24}/gi;
const MAY_HOLD_INTEGRATION_KEY = new RegExp(INTEGRATION_KEY_PREFIX, 'i');

/**
 * The text with every API token in it cut to its public part, `klx_<public id>_[redacted]`
 * (the public id still says whose it was, so it can be revoked), and every integration
 * key to its hint, `klxr<4 characters>[redacted]`: what a log line, the audit log or a
 * stored field may keep of a secret sent where it does not belong, or in a URL.
 */
export function redactTokens(text: string): string {
  return redactIntegrationKeys(redactApiTokens(text));
}

/**
 * API tokens only. A request body is redacted with this (src/api/request.ts): the
 * Events API sends its routing key, an integration key, in the body, and intake must
 * read it there (intake keeps the payload with the key cut out).
 */
export function redactApiTokens(text: string): string {
  return text.includes(TOKEN_PREFIX) ? text.replace(TOKEN_ANYWHERE, `${TOKEN_PREFIX}$1_[redacted]`) : text;
}

function redactIntegrationKeys(text: string): string {
  return MAY_HOLD_INTEGRATION_KEY.test(text) ? text.replace(INTEGRATION_KEY_ANYWHERE, '$1[redacted]') : text;
}

/** Whether a text holds an API token or an integration key. */
export function holdsToken(text: string): boolean {
  return redactTokens(text) !== text;
}

/** A token as the database keeps it (src/db/rows.ts maps the row): never its secret. */
export interface ApiToken {
  id: string;
  publicId: string;
  name: string;
  scopes: Scope[];
  /** null: organisation-wide. */
  teamId: string | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  createdBy: string | null;
  createdVia: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}
