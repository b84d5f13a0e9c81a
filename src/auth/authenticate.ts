/**
 * Turns the Authorization header into a Principal, or says why not. One indexed
 * lookup per request, so a revoked token stops working at once.
 *
 * While Postgres is unreachable, a token that authenticated in the last few minutes is
 * still accepted (stale-if-error): /metrics and /stats keep answering during a database
 * outage, which is when operators need them most. Writes fail with 503 anyway.
 */
import type pg from 'pg';
import type { Clock } from '../clock/clock.ts';
import { type TokenRow } from '../commands/tokens.ts';
import { run, sql } from '../db/queries.ts';
import type { Logger } from '../log/logger.ts';
import type { Principal } from './principal.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { hashSecret, hashesMatch, parseToken } from './token-format.ts';

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

interface Remembered {
  principal: Principal;
  at: number;
  expiresAt: number | null;
}

/** Sets a key as the newest of a bounded map (insertion order is age order). */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MEMORY) map.delete(map.keys().next().value as string);
}

export class Authenticator {
  private readonly touchedAt = new Map<string, number>();
  /** Keyed by public id and secret hash, never by the token itself. */
  private readonly recent = new Map<string, Remembered>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** The principal of an `Authorization` header value; AuthenticationError otherwise. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new AuthenticationError('missing');
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    const parsed = match ? parseToken(match[1] as string) : null;
    if (!parsed) throw new AuthenticationError('malformed');
    const presentedHash = hashSecret(parsed.secret);
    const key = `${parsed.publicId}:${presentedHash.toString('hex')}`;
    let row: TokenRow | undefined;
    try {
      [row] = await run<TokenRow>(this.pool, sql('tokens-by-public-id'), [parsed.publicId]);
    } catch (error) {
      const remembered = isDatabaseUnavailable(error) ? this.recent.get(key) : undefined;
      const now = this.clock.now().getTime();
      if (!remembered || now - remembered.at > OUTAGE_GRACE_MS || (remembered.expiresAt !== null && remembered.expiresAt <= now)) throw error;
      return remembered.principal;
    }
    if (!row || !hashesMatch(presentedHash, row.secret_hash)) throw new AuthenticationError('unknown');
    const now = this.clock.now();
    if (row.revoked_at !== null && row.revoked_at.getTime() <= now.getTime()) throw new AuthenticationError('revoked');
    if (row.expires_at !== null && row.expires_at.getTime() <= now.getTime()) throw new AuthenticationError('expired');
    this.touch(row.id, now);
    const principal: Principal = { tokenId: row.id, publicId: row.public_id, name: row.name, scopes: row.scopes, teamId: row.team_id };
    remember(this.recent, key, { principal, at: now.getTime(), expiresAt: row.expires_at?.getTime() ?? null });
    return principal;
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
