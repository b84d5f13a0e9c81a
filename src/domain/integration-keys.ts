/**
 * What an integration (routing) key is (issue 12): `klxr` and 28 random characters of
 * [a-z0-9], 32 in all, the length Events API clients expect of a routing key (some
 * check it before sending). It names one service: alerts sent with it open, dedupe,
 * acknowledge and resolve that service's incidents. The database keeps its SHA-256 and
 * its first INTEGRATION_KEY_HINT_LENGTH characters (the hint that tells keys apart in
 * lists, logs and the alert log), never the key. Pure: making and hashing keys is
 * src/auth/integration-keys.ts's; cutting keys out of text is redactTokens'
 * (./tokens.ts).
 */

export const INTEGRATION_KEY_PREFIX = 'klxr';
export const INTEGRATION_KEY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** The whole key, prefix included. */
export const INTEGRATION_KEY_LENGTH = 32;
/** 28 characters of 36: about 145 random bits, beyond guessing. */
export const INTEGRATION_KEY_RANDOM_LENGTH = INTEGRATION_KEY_LENGTH - INTEGRATION_KEY_PREFIX.length;
/** The prefix and 4 characters: what lists and redacted text keep of a key. */
export const INTEGRATION_KEY_HINT_LENGTH = 8;

const KEY_SHAPE = /^klxr[a-z0-9]{28}$/;

/**
 * Whether a text is shaped like an integration key (exactly: keys are made in lower
 * case, and the hash is of the exact text). Checked before any lookup, so a malformed
 * key costs no database round trip.
 */
export function isIntegrationKeyShape(text: string): boolean {
  return text.length === INTEGRATION_KEY_LENGTH && KEY_SHAPE.test(text);
}

/** The part of a key that may be shown and stored: `klxr` and its next 4 characters. */
export function integrationKeyHint(key: string): string {
  return key.slice(0, INTEGRATION_KEY_HINT_LENGTH);
}

/** An integration key as the database keeps it (src/db/rows.ts maps the row): never the key, never the signing secret. */
export interface IntegrationKey {
  id: string;
  serviceId: string;
  name: string;
  /** The key's first 8 characters. */
  hint: string;
  /** null: the configured default (INTAKE_RATE_PER_MINUTE). */
  ratePerMinute: number | null;
  /** null: the configured default (INTAKE_RATE_BURST). */
  rateBurst: number | null;
  /** Whether Grafana's requests must carry a valid HMAC signature made with the key's signing secret. */
  signed: boolean;
  createdBy: string;
  createdAt: Date;
  revokedBy: string | null;
  revokedAt: Date | null;
}
