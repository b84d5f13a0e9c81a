/**
 * Writes one audit_log row for every authenticated write request (anything but GET,
 * HEAD and OPTIONS), refused ones included: who (the token), what (method, route,
 * path), when, and how it ended (the status). It wraps the problem handler, so the
 * status it records is the one the caller got.
 *
 * The row is written after the request's own transaction, not inside it: a crash in
 * between loses the line (incident changes also carry the token in incident_events,
 * in their own transaction). The answer waits for the row, so a caller that got an
 * answer can find it.
 */
import type Koa from 'koa';
import type pg from 'pg';
import { actorLabel } from '../auth/principal.ts';
import type { Clock } from '../clock/clock.ts';
import { run, sql } from '../db/queries.ts';
import type { Logger } from '../log/logger.ts';
import { isReadMethod, principalIfAny } from './access.ts';
import { routeTemplate } from './request-context.ts';

export function auditLog(deps: { pool: pg.Pool; clock: Clock; logger: Logger }): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      const principal = principalIfAny(ctx);
      if (principal && !isReadMethod(ctx.method)) {
        try {
          await run(deps.pool, sql('audit-log-insert'), [
            deps.clock.now(),
            principal.tokenId,
            actorLabel(principal),
            principal.teamId,
            ctx.method,
            routeTemplate(ctx) ?? null,
            ctx.path.slice(0, 2048),
            ctx.status,
            (ctx.state.requestId as string | undefined) ?? null,
          ]);
        } catch (error) {
          deps.logger.error('could not write the audit log', { error, method: ctx.method, path: ctx.path, status: ctx.status });
        }
      }
    }
  };
}
