/**
 * What an API token looks like: `klx_<public id>_<secret>`. The prefix makes a leaked
 * token easy to recognise (secret scanners, log reviews); the public id names the
 * token in lists, logs and the audit log; only a SHA-256 of the secret is stored.
 * 256 random bits cannot be guessed, so a fast hash is enough: stretching (bcrypt,
 * scrypt) protects guessable passwords and would cost every request milliseconds.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'klx_';
const PUBLIC_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const PUBLIC_ID_LENGTH = 12;
const SECRET_BYTES = 32;
const TOKEN_SHAPE = /^klx_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface ParsedToken {
  publicId: string;
  secret: string;
}

export interface NewTokenSecret extends ParsedToken {
  /** The whole token, shown once to whoever created it. */
  token: string;
  secretHash: Buffer;
}

export function generateToken(): NewTokenSecret {
  let publicId = '';
  for (let i = 0; i < PUBLIC_ID_LENGTH; i += 1) publicId += PUBLIC_ID_ALPHABET[randomInt(PUBLIC_ID_ALPHABET.length)];
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { publicId, secret, token: `${TOKEN_PREFIX}${publicId}_${secret}`, secretHash: hashSecret(secret) };
}

/** The parts of a well-formed token, or null. */
export function parseToken(token: string): ParsedToken | null {
  const match = TOKEN_SHAPE.exec(token);
  if (!match) return null;
  return { publicId: match[1] as string, secret: match[2] as string };
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Compares two secret hashes in constant time, so response times say nothing about the stored one. */
export function hashesMatch(presentedHash: Buffer, storedHash: Buffer): boolean {
  return presentedHash.length === storedHash.length && timingSafeEqual(presentedHash, storedHash);
}

/** A token anywhere in a text (a path, a request id, a note pasted by mistake). */
const TOKEN_ANYWHERE = /klx_([a-z0-9]{12})_[A-Za-z0-9_-]{43}/g;

/**
 * The text with every token in it cut to its public part, `klx_<public id>_[redacted]`:
 * what a log line, the audit log or a stored field may keep of a token sent where it
 * does not belong (the public id still says whose it was, so it can be revoked).
 */
export function redactTokens(text: string): string {
  return text.includes('klx_') ? text.replace(TOKEN_ANYWHERE, 'klx_$1_[redacted]') : text;
}

/** Whether a text holds a token. */
export function holdsToken(text: string): boolean {
  return redactTokens(text) !== text;
}
