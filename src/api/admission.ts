/**
 * Who gets in, decided on the declaration of the route that matched (never on the raw
 * path): authentication (401), the endpoint's scope and team rule (403), and the rate
 * limits (429), in that order.
 *
 * Two buckets. A token's own (`token:<id>`) limits what a caller with a valid token
 * sends. A client address's (`address:<ip>`) limits what costs us work without a
 * valid token: every request with no token, a malformed, unknown, revoked or expired
 * one (each unknown one costs a database lookup), and the public /readyz (a liveness
 * probe, /healthz, costs nothing and is never limited). An address
 * over its budget is remembered in this process until its bucket refills, and its
 * further token lookups are refused without touching the database, except for a
 * token this process accepted recently: a client behind the same NAT as an attacker
 * keeps working.
 */
import type Koa from 'koa';
import { AuthenticationError, type Authenticator } from '../auth/authenticate.ts';
import type { Principal } from '../auth/principal.ts';
import type { RateLimiter } from '../ratelimit/rate-limiter.ts';
import { type Endpoint, permits, requiredScope } from './endpoint.ts';
import { HttpProblem } from './problem.ts';
import { rateLimitedProblem, takeOrRefuse } from './rate-limit.ts';

const REALM = 'Bearer realm="klaxon"';
/** Addresses remembered as over their budget; beyond this the oldest is forgotten. */
const MAX_BLOCKED_ADDRESSES = 10_000;

export interface AdmissionDeps {
  authenticator: Authenticator;
  /** Per token. */
  rateLimiter: RateLimiter;
  /** Per client address, for what has no valid token. */
  addressRateLimiter: RateLimiter;
}

export class Admission {
  /** Address -> until when (ms since the epoch) its failed attempts are refused without a lookup. */
  private readonly blocked = new Map<string, number>();

  constructor(
    private readonly deps: AdmissionDeps,
    private readonly now: () => number = Date.now,
  ) {}

  /** The caller of a request to `endpoint` (undefined for a public one); a 401, 403 or 429 problem otherwise. */
  async admit(ctx: Koa.Context, endpoint: Endpoint): Promise<Principal | undefined> {
    if (endpoint.scope === 'public') {
      if (!endpoint.liveness && !endpoint.ownRateLimit) await this.limitAddress(ctx);
      return undefined;
    }
    const principal = await this.authenticate(ctx);
    if (!permits(principal, endpoint)) throw insufficientScope(principal, endpoint);
    await takeOrRefuse(ctx, this.deps.rateLimiter, `token:${principal.tokenId}`, 'this token');
    return principal;
  }

  /** For a request no endpoint declares: a valid token first (so routes cannot be probed without one). */
  async admitAnyToken(ctx: Koa.Context): Promise<Principal> {
    const principal = await this.authenticate(ctx);
    await takeOrRefuse(ctx, this.deps.rateLimiter, `token:${principal.tokenId}`, 'this token');
    return principal;
  }

  /** The token's principal (also on ctx.state.principal, for the audit log); 401 or 429 otherwise. */
  private async authenticate(ctx: Koa.Context): Promise<Principal> {
    const authorization = ctx.get('authorization') || undefined;
    if (this.isBlocked(ctx.ip) && !this.deps.authenticator.recentlyAccepted(authorization)) {
      throw new HttpProblem(
        429,
        'rate_limited',
        'Too many requests',
        'too many requests without a valid token from this address; retry later',
        {},
        {
          'Retry-After': String(Math.max(1, Math.ceil(((this.blocked.get(ctx.ip) ?? 0) - this.now()) / 1000))),
        },
      );
    }
    try {
      const principal = await this.deps.authenticator.authenticate(authorization);
      ctx.state.principal = principal;
      return principal;
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      await this.limitAddress(ctx);
      // RFC 6750: no error attribute when no token was sent at all.
      const missing = error.reason === 'missing';
      throw new HttpProblem(
        401,
        missing ? 'unauthenticated' : 'invalid_token',
        'Unauthorized',
        error.message,
        {},
        {
          'WWW-Authenticate': missing ? REALM : `${REALM}, error="invalid_token"`,
        },
      );
    }
  }

  /** Takes one request from the client address's bucket; remembers the address when it is empty. */
  private async limitAddress(ctx: Koa.Context): Promise<void> {
    const decision = await this.deps.addressRateLimiter.take(`address:${ctx.ip}`);
    if (decision.allowed) return;
    this.blocked.delete(ctx.ip);
    this.blocked.set(ctx.ip, this.now() + decision.retryAfterMs);
    if (this.blocked.size > MAX_BLOCKED_ADDRESSES) this.blocked.delete(this.blocked.keys().next().value as string);
    throw rateLimitedProblem(this.deps.addressRateLimiter, decision, 'this address without a valid token');
  }

  private isBlocked(address: string): boolean {
    const until = this.blocked.get(address);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.blocked.delete(address);
    return false;
  }
}

function insufficientScope(principal: Principal, endpoint: Endpoint): HttpProblem {
  const required = requiredScope(endpoint) ?? 'any';
  const scope = endpoint.scope === 'public' || endpoint.scope === 'any' ? '' : endpoint.scope;
  const needs = endpoint.teams === 'organisation' ? `an organisation-wide token (of no team) with the "${scope}" scope` : `a token with the "${scope}" scope`;
  return new HttpProblem(
    403,
    'insufficient_scope',
    'Forbidden',
    `this request needs ${needs}; this token has: ${principal.scopes.join(', ')}${principal.teamId ? ' (of one team)' : ''}`,
    { required_scope: required },
    { 'WWW-Authenticate': `${REALM}, error="insufficient_scope", scope="${scope}"` },
  );
}
