/**
 * Gives each request an id (the caller's X-Request-Id when it is sane, otherwise a
 * new one), puts it on every log line written while the request runs, echoes it
 * back, writes one access-log line per request and observes its duration in the
 * HTTP histogram (by route template: the raw path would be one series per id). Bodies and headers are never
 * logged: they may carry secrets.
 */
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import { type Logger, withLogContext } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The template of the route that answered (`/incidents/:id`), or undefined when none matched. */
export function routeTemplate(ctx: Koa.Context): string | undefined {
  const matched: unknown = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return typeof matched === 'string' ? matched : undefined;
}

export function requestContext(logger: Logger, metrics: Metrics): Koa.Middleware {
  return async (ctx, next) => {
    const given = ctx.get('x-request-id');
    const requestId = SANE_REQUEST_ID.test(given) ? given : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    const startedAt = performance.now();
    await withLogContext({ request_id: requestId }, async () => {
      try {
        await next();
      } finally {
        // The route template (/incidents/:id), not the path, so lines group by endpoint.
        const route = routeTemplate(ctx);
        const durationMs = performance.now() - startedAt;
        logger.info('request', {
          method: ctx.method,
          route,
          path: ctx.path,
          status: ctx.status,
          duration_ms: Math.round(durationMs * 10) / 10,
        });
        metrics.observeHttpRequest({ method: ctx.method, route, status: ctx.status, seconds: durationMs / 1000 });
      }
    });
  };
}
