/**
 * Gives each request an id (the caller's X-Request-Id when it is sane, otherwise a
 * new one), puts it on every log line written while the request runs, echoes it
 * back, and writes one access-log line per request. Bodies and headers are never
 * logged: they may carry secrets.
 */
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import { type Logger, withLogContext } from '../log/logger.ts';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestContext(logger: Logger): Koa.Middleware {
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
        const route: unknown = (ctx as { _matchedRoute?: unknown })._matchedRoute;
        logger.info('request', {
          method: ctx.method,
          route: typeof route === 'string' ? route : undefined,
          path: ctx.path,
          status: ctx.status,
          duration_ms: Math.round((performance.now() - startedAt) * 10) / 10,
        });
      }
    });
  };
}
