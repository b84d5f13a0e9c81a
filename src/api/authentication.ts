/**
 * Authenticates every request but the public ones (src/api/access.ts) and checks the
 * token's scope before any route runs: 401 without a valid token, 403 when its scopes
 * do not cover the route. The token's public id goes on every log line of the request;
 * the token itself never does.
 */
import type Koa from 'koa';
import { AuthenticationError, type Authenticator } from '../auth/authenticate.ts';
import { withLogContext } from '../log/logger.ts';
import { accessFor, permits } from './access.ts';
import { HttpProblem } from './problem.ts';

const REALM = 'Bearer realm="klaxon"';

export function authentication(authenticator: Authenticator): Koa.Middleware {
  return async (ctx, next) => {
    const access = accessFor(ctx.method, ctx.path);
    if (access === 'public') {
      await next();
      return;
    }

    let principal;
    try {
      principal = await authenticator.authenticate(ctx.get('authorization') || undefined);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      // RFC 6750: no error attribute when no token was sent at all.
      ctx.set('WWW-Authenticate', error.reason === 'missing' ? REALM : `${REALM}, error="invalid_token"`);
      const code = error.reason === 'missing' ? 'unauthenticated' : 'invalid_token';
      throw new HttpProblem(401, code, 'Unauthorized', error.message);
    }
    ctx.state.principal = principal;

    if (!permits(principal, access)) {
      const scope = access === 'organisation-admin' ? 'admin' : access;
      const needs = access === 'organisation-admin' ? 'an organisation-wide token (of no team) with the "admin" scope' : `a token with the "${access}" scope`;
      ctx.set('WWW-Authenticate', `${REALM}, error="insufficient_scope", scope="${scope}"`);
      throw new HttpProblem(403, 'insufficient_scope', 'Forbidden', `this request needs ${needs}; this token has: ${principal.scopes.join(', ')}${principal.teamId ? ' (of one team)' : ''}`, {
        required_scope: access,
      });
    }
    await withLogContext({ token: principal.publicId }, next);
  };
}
