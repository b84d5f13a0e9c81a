/**
 * Gives each request the server's own id (always generated here: `request_id` in logs,
 * problems and the audit log), keeps the client's X-Request-Id apart as
 * `client_request_id` when it is sane, puts both on every log line written while the
 * request runs, echoes the server's back, sets the headers every answer carries,
 * writes one access-log line per request and observes its duration in the HTTP
 * histogram, by the matched endpoint's path template (the raw path would be one
 * series per id). Bodies and headers are never logged: they may carry secrets.
 *
 * The access line of a request that succeeded within SLOW_REQUEST_MS is at debug:
 * at LOG_LEVEL=info (production's) the log follows what goes wrong, not the traffic
 * (issue 10: a line per request was a formatted, redacted write per request, and the
 * histogram and the audit log already count and record them). A refused or failed
 * request, or a slow one, is logged at info.
 */
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import { holdsToken } from '../domain/tokens.ts';
import { type Logger, withLogContext } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { routeOf } from './request-state.ts';

/** A request answered later than this is logged at info even when it succeeded. */
export const SLOW_REQUEST_MS = 1_000;

/** A client's request id worth keeping: short, and only characters that need no escaping anywhere. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Every answer: never sniffed as another media type than the one it declares, and
 * never cached (answers hold incidents, people's phone numbers, a new token once).
 */
const ANSWER_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' };

/** The client's X-Request-Id when it is worth keeping (requestLimits refuses one that holds a token). */
export function clientRequestId(ctx: Koa.Context): string | undefined {
  const given = ctx.get('x-request-id');
  return SANE_REQUEST_ID.test(given) && !holdsToken(given) ? given : undefined;
}

export function requestContext(logger: Logger, metrics: Metrics): Koa.Middleware {
  return async (ctx, next) => {
    const requestId = randomUUID();
    const clientId = clientRequestId(ctx);
    ctx.state.requestId = requestId;
    ctx.state.clientRequestId = clientId;
    ctx.set('X-Request-Id', requestId);
    ctx.set(ANSWER_HEADERS);
    const startedAt = performance.now();
    await withLogContext({ request_id: requestId, ...(clientId ? { client_request_id: clientId } : {}) }, async () => {
      try {
        await next();
      } finally {
        const route = routeOf(ctx);
        const durationMs = performance.now() - startedAt;
        const level = ctx.status >= 400 || durationMs >= SLOW_REQUEST_MS ? 'info' : 'debug';
        if (logger.isLevelEnabled(level)) {
          logger.log(level, 'request', {
            method: ctx.method,
            route,
            path: ctx.path,
            status: ctx.status,
            duration_ms: Math.round(durationMs * 10) / 10,
          });
        }
        metrics.observeHttpRequest({ method: ctx.method, route, status: ctx.status, seconds: durationMs / 1000 });
      }
    });
  };
}
