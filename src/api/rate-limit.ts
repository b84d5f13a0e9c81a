/**
 * Rate limiting at the HTTP edge: one bucket per subject (`token:<id>`,
 * `address:<ip>`, later `integration:<key-id>`), chosen by src/api/admission.ts.
 * Answers carry the RateLimit-Limit / -Remaining / -Reset headers (IETF
 * draft-ietf-httpapi-ratelimit-headers; Reset in seconds); a refusal is a 429
 * `rate_limited` problem with Retry-After.
 */
import type Koa from 'koa';
import type { RateLimitDecision, RateLimitPolicy, RateLimiter } from '../ratelimit/rate-limiter.ts';
import { HttpProblem } from './problem.ts';

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

/**
 * The 429 for a refused decision; `whose` names the bucket in the detail ("this token",
 * "this address"), and `policy` is the bucket's own when it has one (an integration
 * key's rate) instead of the limiter's.
 */
export function rateLimitedProblem(limiter: RateLimiter, decision: RateLimitDecision, whose: string, policy: RateLimitPolicy = limiter.policy): HttpProblem {
  const headers = rateLimitHeaders(decision);
  const { ratePerMinute, burst } = policy;
  return new HttpProblem(
    429,
    'rate_limited',
    'Too many requests',
    `the rate limit of ${whose} is ${ratePerMinute} requests per minute with bursts of up to ${burst}; retry in ${headers['Retry-After']} s`,
    {},
    headers,
  );
}

/** Takes one request from `subject`'s bucket: sets the RateLimit-* headers, and throws the 429 when it is empty. */
export async function takeOrRefuse(ctx: Koa.Context, limiter: RateLimiter, subject: string, whose: string): Promise<RateLimitDecision> {
  const decision = await limiter.take(subject);
  ctx.set(rateLimitHeaders(decision));
  if (!decision.allowed) throw rateLimitedProblem(limiter, decision, whose);
  return decision;
}
