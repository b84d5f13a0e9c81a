/**
 * Making and checking token secrets (the token's shape is src/domain/tokens.ts's).
 * Only a SHA-256 of the secret is stored: 256 random bits cannot be guessed, so a fast
 * hash is enough; stretching (bcrypt, scrypt) protects guessable passwords and would
 * cost every request milliseconds.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { PUBLIC_ID_ALPHABET, PUBLIC_ID_LENGTH, type ParsedToken, SECRET_BYTES, TOKEN_PREFIX } from '../domain/tokens.ts';

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

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Compares two secret hashes in constant time, so response times say nothing about the stored one. */
export function hashesMatch(presentedHash: Buffer, storedHash: Buffer): boolean {
  return presentedHash.length === storedHash.length && timingSafeEqual(presentedHash, storedHash);
}
