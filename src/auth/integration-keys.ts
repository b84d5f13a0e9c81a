/**
 * Integration keys (issue 12; the key's shape is src/domain/integration-keys.ts's):
 * making one, hashing one, and finding the live key an alert was sent with.
 *
 * Only a SHA-256 of a key is stored: 145 random bits cannot be guessed, so a fast hash
 * is enough (as for API tokens, ./token-format.ts). Intake looks a key up on every
 * alert; a key found is then trusted from memory as API tokens are
 * (./revocation-trust.ts): only while this process hears revocations
 * (./revocations.ts, INTEGRATION_KEY_REVOKED_CHANNEL), for at most FRESH_MS, and a
 * revocation heard forgets the key at once. Unknown and revoked keys are not
 * remembered: each costs a lookup, so the intake endpoints count them against the
 * caller's address. While Postgres
 * is unreachable, a key not fresh in memory fails with the database's own error
 * (src/db/unavailable.ts says it is one), never with "unknown key": an alert must be
 * retried (503), not dropped as if its key were wrong.
 */
import { randomInt } from 'node:crypto';
import { type Queryable, run, sql } from '../db/queries.ts';
import type { ResolvedIntegrationKeyRow } from '../db/rows.ts';
import {
  INTEGRATION_KEY_ALPHABET,
  INTEGRATION_KEY_PREFIX,
  INTEGRATION_KEY_RANDOM_LENGTH,
  integrationKeyHint,
  isIntegrationKeyShape,
} from '../domain/integration-keys.ts';
import { SingleFlight } from '../domain/single-flight.ts';
import { RevocationTrust, type RevocationTrustOptions, rememberBounded } from './revocation-trust.ts';
import { hashSecret } from './token-format.ts';

export interface NewIntegrationKey {
  /** The whole key, shown once to whoever created it. */
  key: string;
  /** SHA-256 of the key: what is stored. */
  hash: Buffer;
  /** Its first 8 characters. */
  hint: string;
}

export function generateIntegrationKey(): NewIntegrationKey {
  let key = INTEGRATION_KEY_PREFIX;
  for (let i = 0; i < INTEGRATION_KEY_RANDOM_LENGTH; i += 1) key += INTEGRATION_KEY_ALPHABET[randomInt(INTEGRATION_KEY_ALPHABET.length)];
  return { key, hash: hashIntegrationKey(key), hint: integrationKeyHint(key) };
}

/** What integration_keys.key_hash holds for a key: SHA-256 of its exact text. */
export function hashIntegrationKey(key: string): Buffer {
  return hashSecret(key);
}

/** The default rate of keys that have none of their own (INTAKE_RATE_PER_MINUTE, INTAKE_RATE_BURST). */
export interface IntakeRateDefaults {
  ratePerMinute: number;
  burst: number;
}

/** A live key, as intake acts on it. */
export interface ResolvedIntegrationKey {
  id: string;
  serviceId: string;
  /** The service's team (null: organisation-wide): the incidents intake opens are that team's. */
  teamId: string | null;
  name: string;
  hint: string;
  /** Grafana's HMAC secret; null: requests need no signature. */
  signingSecret: string | null;
  /** The key's own rate, or the configured default. */
  ratePerMinute: number;
  rateBurst: number;
}

/** Keys remembered; beyond this, the oldest are forgotten (a lookup brings one back). */
const MEMORY = 10_000;

interface Remembered {
  key: ResolvedIntegrationKey;
  /** When its lookup started (monotonic), if it may be trusted; null: not without another lookup. */
  checkedAt: number | null;
}

export class IntegrationKeys {
  /** By the key's hash (hex), never by the key itself. */
  private readonly recent = new Map<string, Remembered>();
  private readonly trust: RevocationTrust;
  /** One lookup per key at a time: the requests that come meanwhile wait for it. */
  private readonly lookups = new SingleFlight<ResolvedIntegrationKey | null>();

  constructor(
    private readonly db: Queryable,
    private readonly defaults: IntakeRateDefaults,
    options: RevocationTrustOptions = {},
  ) {
    this.trust = new RevocationTrust(options);
  }

  /**
   * The live key `key` is, or null (malformed, unknown or revoked). Throws the
   * database's error when Postgres cannot answer and the key is not fresh in memory.
   */
  async resolve(key: string): Promise<ResolvedIntegrationKey | null> {
    if (!isIntegrationKeyShape(key)) return null;
    const hash = hashIntegrationKey(key);
    const cacheKey = hash.toString('hex');
    const known = this.recent.get(cacheKey);
    if (known && this.trust.isFresh(known.checkedAt)) {
      // Looked up again before it expires, while this request goes on (its failure is the next lookup's to report).
      if (this.trust.isAging(known.checkedAt)) this.lookups.refresh(cacheKey, () => this.lookUp(hash, cacheKey));
      return known.key;
    }
    return this.lookups.run(cacheKey, () => this.lookUp(hash, cacheKey));
  }

  private async lookUp(hash: Buffer, cacheKey: string): Promise<ResolvedIntegrationKey | null> {
    const stamp = this.trust.lookupStarts();
    const [row] = await run<ResolvedIntegrationKeyRow>(this.db, sql('integration-key-resolve'), [hash]);
    if (!row) {
      this.recent.delete(cacheKey);
      return null;
    }
    const resolved = this.toResolved(row);
    // A revocation heard while the row was being read may be this key's: not trusted then.
    rememberBounded(this.recent, cacheKey, { key: resolved, checkedAt: this.trust.lookupEnded(stamp) }, MEMORY);
    return resolved;
  }

  /** Forgets a key at once (it was just revoked, here or in another process). */
  forget(keyId: string): void {
    this.trust.revoked();
    this.lookups.clear();
    for (const [cacheKey, remembered] of this.recent) if (remembered.key.id === keyId) this.recent.delete(cacheKey);
  }

  /** Whether every revocation is heard from now on (RevocationTrust.revocationsHeard). */
  revocationsHeard(heard: boolean): void {
    this.trust.revocationsHeard(heard);
  }

  private toResolved(row: ResolvedIntegrationKeyRow): ResolvedIntegrationKey {
    return {
      id: row.id,
      serviceId: row.service_id,
      teamId: row.team_id,
      name: row.name,
      hint: row.key_hint,
      signingSecret: row.signing_secret,
      ratePerMinute: row.rate_per_minute ?? this.defaults.ratePerMinute,
      rateBurst: row.rate_burst ?? this.defaults.burst,
    };
  }
}
