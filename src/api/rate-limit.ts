/**
 * Rate limiting at the HTTP edge: one bucket per subject (`token:<id>`,
 * `integration:<key-id>`), named by the caller from the authenticated request.
 * Answers carry the RateLimit-Limit / -Remaining / -Reset headers (IETF
 * draft-ietf-httpapi-ratelimit-headers; Reset in seconds); a refusal is a 429
 * `rate_limited` problem with Retry-After.
 */
import type Koa from 'koa';
import type { RateLimitDecision, RateLimiter } from '../ratelimit/rate-limiter.ts';
import { HttpProblem } from './problem.ts';

/**
 * A 429 that carries its headers as `headers`, Koa's convention: Koa's own error
 * handler drops every header set on ctx and applies only err.headers. Our
 * problemHandler keeps the ctx headers (it catches the error before Koa does), so
 * Retry-After reaches the client either way.
 */
export class RateLimitedProblem extends HttpProblem {
  /** For Koa's handler too: the detail is meant for the client. */
  readonly expose = true;

  constructor(
    detail: string,
    readonly headers: Record<string, string>,
  ) {
    super(429, 'rate_limited', 'Too many requests', detail);
  }
}

export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'RateLimit-Limit': String(decision.limit),
    'RateLimit-Remaining': String(decision.remaining),
    'RateLimit-Reset': String(Math.ceil(decision.resetMs / 1000)),
  };
  // Whole seconds, rounded up (an early retry would be refused again), never 0.
  if (!decision.allowed) headers['Retry-After'] = String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
  return headers;
}

/** `subjectOf` returns undefined for requests that are not limited (no token, health checks). */
export function rateLimit(limiter: RateLimiter, subjectOf: (ctx: Koa.Context) => string | undefined): Koa.Middleware {
  const { ratePerMinute, burst } = limiter.policy;
  return async (ctx, next) => {
    const subject = subjectOf(ctx);
    if (subject === undefined) {
      await next();
      return;
    }
    const decision = await limiter.take(subject);
    const headers = rateLimitHeaders(decision);
    ctx.set(headers);
    if (!decision.allowed) {
      throw new RateLimitedProblem(
        `the rate limit is ${ratePerMinute} requests per minute with bursts of up to ${burst}; retry in ${headers['Retry-After']} s`,
        headers,
      );
    }
    await next();
  };
}
