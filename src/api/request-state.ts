/**
 * What the middleware learns about a request and later steps read, kept on
 * ctx.state under one set of names: the server's request id and the client's, the
 * endpoint that matched, and the caller once authenticated.
 */
import type Koa from 'koa';
import type { Principal } from '../auth/principal.ts';
import type { Endpoint } from './endpoint.ts';

/** The caller, once admission accepted the request's token; else undefined. */
export function principalIfAny(ctx: Koa.Context): Principal | undefined {
  return ctx.state.principal as Principal | undefined;
}

/** The endpoint whose route matched; undefined for a request no declaration answers. */
export function endpointIfAny(ctx: Koa.Context): Endpoint | undefined {
  return ctx.state.endpoint as Endpoint | undefined;
}
