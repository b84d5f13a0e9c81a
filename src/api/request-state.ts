/**
 * What the middleware learns about a request and later steps read, kept on ctx.state
 * under one set of names: the caller once authenticated, and the path template of the
 * endpoint that matched (for logs, metrics and the audit log). It imports nothing of
 * the API's own, so every module may use it.
 */
import type Koa from 'koa';
import type { Principal } from '../auth/principal.ts';

/** GET, HEAD and OPTIONS only read: they need no writing scope and are not audited. */
export function isReadMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

/** The caller, once admission accepted the request's token; else undefined. */
export function principalIfAny(ctx: Koa.Context): Principal | undefined {
  return ctx.state.principal as Principal | undefined;
}

/** Remembers the path template of the endpoint that matched (`/incidents/:id`). */
export function setRoute(ctx: Koa.Context, route: string): void {
  ctx.state.route = route;
}

/** The path template of the endpoint that matched; undefined for a request no declaration answers. */
export function routeOf(ctx: Koa.Context): string | undefined {
  return ctx.state.route as string | undefined;
}
