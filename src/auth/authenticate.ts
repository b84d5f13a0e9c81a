/**
 * Turns the Authorization header into a Principal, or says why not.
 *
 * A revoked token stops working at once. Each token is looked up in Postgres (one
 * indexed read), and then, while this process hears revocations (./revocations.ts:
 * every revocation made through klaxon, by the API or the CLI, is announced with
 * NOTIFY when it commits), trusted from memory for up to FRESH_MS: a revocation heard
 * forgets it at once, and one revoked through this process is forgotten before the
 * answer. So a revoked token is refused by the next request to the process that
 * revoked it, by other processes as soon as the notice reaches them (milliseconds),
 * and at the latest FRESH_MS after a revocation nobody announced (an UPDATE by hand)
 * or one announced while a listener was reconnecting. Expiry is checked on every
 * request. Without a listener (the tests, unless they start one), or while it is
 * disconnected, every request looks its token up (issue 10: the lookup was one of the
 * eleven round trips of a POST /incidents).
 *
 * While Postgres is unreachable, a token that authenticated in the last few minutes is
 * still accepted (stale-if-error): /metrics and /stats keep answering during a database
 * outage, which is when operators need them most. Writes fail with 503 anyway. A token
 * this process saw revoked, expired or unknown is forgotten at once, and so is one
 * revoked through this process or heard revoked, so the grace never brings a dead
 * token back. (Another API process that last saw it valid, and missed the notice, may
 * still accept it for the rest of the grace, during an outage only: the README says so.)
 */
import type pg from 'pg';
import type { Clock } from '../clock/clock.ts';
import type { TokenRow } from '../db/rows.ts';
import { run, sql } from '../db/queries.ts';
import type { Logger } from '../log/logger.ts';
import type { Principal } from './principal.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { SingleFlight } from '../domain/single-flight.ts';
import { type ParsedToken, parseToken } from '../domain/tokens.ts';
import { hashSecret, hashesMatch } from './token-format.ts';
import { FRESH_MS, RevocationTrust, type RevocationTrustOptions, rememberBounded } from './revocation-trust.ts';

export { FRESH_MS };

export type AuthenticationFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';

export class AuthenticationError extends Error {
  constructor(readonly reason: AuthenticationFailure) {
    super(DESCRIPTIONS[reason]);
    this.name = 'AuthenticationError';
  }
}

const DESCRIPTIONS: Readonly<Record<AuthenticationFailure, string>> = {
  missing: 'this route needs an API token: send "Authorization: Bearer <token>"',
  malformed: 'the Authorization header is not "Bearer <token>" with a klaxon token (klx_...)',
  unknown: 'the token is not valid',
  revoked: 'the token has been revoked',
  expired: 'the token has expired',
};

/** How often a token's last_used_at is written (not on every request). */
const TOUCH_INTERVAL_MS = 60_000;
/** Tokens remembered (last write, last success); beyond this, the oldest are forgotten. */
const MEMORY = 10_000;
/** How long a token that authenticated stays accepted while Postgres is unreachable. */
export const OUTAGE_GRACE_MS = 5 * 60_000;
// FRESH_MS (./revocation-trust.ts): how long a token looked up is trusted without
// another lookup, while revocations are heard; the longest a revocation nobody
// announced goes unnoticed. A token in use is looked up again in the background past
// half of it (RevocationTrust.isAging): at 800 requests a second, one lookup in 2,000,
// and none of them in a request's way.

interface Remembered {
  principal: Principal;
  /** When it was last looked up, by the injected clock (the outage grace counts from it). */
  at: number;
  expiresAt: number | null;
  /** When that lookup started, by the monotonic clock (freshness counts from it); null: not to be trusted without a lookup. */
  checkedAt: number | null;
}

/** Monotonic milliseconds for freshness (default performance.now; tests inject one), and FRESH_MS. */
export type AuthenticatorOptions = RevocationTrustOptions;

/** Sets a key as the newest of a bounded map (insertion order is age order). */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  rememberBounded(map, key, value, MEMORY);
}

/** The token in an Authorization header, hashed, and the key the grace cache knows it by; null when malformed. */
interface PresentedToken {
  parsed: ParsedToken;
  presentedHash: Buffer;
  key: string;
}

function presentedToken(authorization: string): PresentedToken | null {
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  const parsed = match ? parseToken(match[1] as string) : null;
  if (!parsed) return null;
  const presentedHash = hashSecret(parsed.secret);
  return { parsed, presentedHash, key: `${parsed.publicId}:${presentedHash.toString('hex')}` };
}

export class Authenticator {
  private readonly touchedAt = new Map<string, number>();
  /** Keyed by public id and secret hash, never by the token itself. */
  private readonly recent = new Map<string, Remembered>();
  /** Whether a lookup may be trusted from memory: while revocations are heard, for FRESH_MS. */
  private readonly trust: RevocationTrust;
  /** One lookup per presented token at a time: the requests that come meanwhile wait for it. */
  private readonly lookups = new SingleFlight<Principal>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: AuthenticatorOptions = {},
  ) {
    this.trust = new RevocationTrust(options);
  }

  /** The principal of an `Authorization` header value; AuthenticationError otherwise. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new AuthenticationError('missing');
    const presented = presentedToken(authorization);
    if (!presented) throw new AuthenticationError('malformed');
    const { key } = presented;
    const known = this.recent.get(key);
    if (known && this.trust.isFresh(known.checkedAt)) {
      const now = this.clock.now();
      if (known.expiresAt !== null && known.expiresAt <= now.getTime()) this.refuse(key, 'expired');
      this.touch(known.principal.tokenId, now);
      // Looked up again before it expires, while this request goes on (what it finds is the next request's to act on).
      if (this.trust.isAging(known.checkedAt)) this.lookups.refresh(key, () => this.lookUp(presented));
      return known.principal;
    }
    return this.lookups.run(key, () => this.lookUp(presented));
  }

  /** Reads the token's row and remembers what it says; AuthenticationError when it is refused. */
  private async lookUp({ parsed, presentedHash, key }: PresentedToken): Promise<Principal> {
    const stamp = this.trust.lookupStarts();
    let row: TokenRow | undefined;
    try {
      [row] = await run<TokenRow>(this.pool, sql('tokens-by-public-id'), [parsed.publicId]);
    } catch (error) {
      const remembered = isDatabaseUnavailable(error) ? this.recent.get(key) : undefined;
      const now = this.clock.now().getTime();
      if (!remembered || now - remembered.at > OUTAGE_GRACE_MS || (remembered.expiresAt !== null && remembered.expiresAt <= now)) throw error;
      return remembered.principal;
    }
    const now = this.clock.now();
    if (!row || !hashesMatch(presentedHash, row.secret_hash)) this.refuse(key, 'unknown');
    // Revoked is revoked, whatever the time it names (the database refuses a future one too).
    if (row.revoked_at !== null) this.refuse(key, 'revoked');
    if (row.expires_at !== null && row.expires_at.getTime() <= now.getTime()) this.refuse(key, 'expired');
    this.touch(row.id, now);
    const principal: Principal = { tokenId: row.id, publicId: row.public_id, name: row.name, scopes: row.scopes, teamId: row.team_id };
    // A revocation heard while the row was being read may be this token's: not trusted then.
    remember(this.recent, key, { principal, at: now.getTime(), expiresAt: row.expires_at?.getTime() ?? null, checkedAt: this.trust.lookupEnded(stamp) });
    return principal;
  }

  /** Whether every revocation is heard from now on (RevocationTrust.revocationsHeard). */
  revocationsHeard(heard: boolean): void {
    this.trust.revocationsHeard(heard);
  }

  /** Refuses a token, and forgets it: the outage grace must not accept it later. */
  private refuse(key: string, reason: AuthenticationFailure): never {
    this.recent.delete(key);
    throw new AuthenticationError(reason);
  }

  /**
   * Whether this header holds a token this process accepted within the outage grace:
   * the per-address limit lets such a caller through without a lookup even when its
   * address is over its budget of failed attempts (a shared NAT with an attacker).
   */
  recentlyAccepted(authorization: string | undefined): boolean {
    const presented = authorization ? presentedToken(authorization) : null;
    const remembered = presented ? this.recent.get(presented.key) : undefined;
    return remembered !== undefined && this.clock.now().getTime() - remembered.at <= OUTAGE_GRACE_MS;
  }

  /** Forgets a token at once (it was just revoked, here or in another process): no grace may accept it again. */
  forget(tokenId: string): void {
    this.trust.revoked();
    this.lookups.clear();
    for (const [key, remembered] of this.recent) if (remembered.principal.tokenId === tokenId) this.recent.delete(key);
  }

  /** Writes last_used_at in the background, at most once a minute per token. */
  private touch(tokenId: string, now: Date): void {
    const last = this.touchedAt.get(tokenId);
    if (last !== undefined && now.getTime() - last < TOUCH_INTERVAL_MS) return;
    remember(this.touchedAt, tokenId, now.getTime());
    run(this.pool, sql('tokens-touch'), [tokenId, now]).catch((error: unknown) => {
      this.logger.warn('could not record a token use', { token_id: tokenId, error });
    });
  }
}
