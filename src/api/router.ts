/**
 * The router, generated from the endpoint declarations: each declared method and path
 * template is one route, matched case-sensitively and strictly (`/Tokens` and
 * `/tokens/` are not `/tokens`: they match no declaration and answer 404 to a valid
 * token, 401 without one). Every route runs the same steps, driven by its declaration:
 *
 *   a place among the requests in flight (503 overloaded when full; not for a liveness
 *   probe) -> admission (401, 403, 429) -> path, query and body read and validated (400, 413, 415)
 *   -> the handler (inside the audit commit hook for a write) -> the answer, with the
 *   declared status (checked against the declared schema in tests).
 *
 * A request no declaration answers needs a valid token too; then it is 404 (no such
 * path), 405 (a method the path does not take), 501 (a method the API has nowhere) or,
 * for OPTIONS, 204; 405, 501 and 204 carry Allow.
 */
import { Router } from '@koa/router';
import type Koa from 'koa';
import { withCommitHook } from '../db/transaction.ts';
import { withLogContext } from '../log/logger.ts';
import { type Validator, compile } from '../schema/validator.ts';
import type { Admission } from './admission.ts';
import type { AppDeps } from './deps.ts';
import type { Endpoint } from './endpoint.ts';
import { isReadMethod, setRoute } from './request-state.ts';
import { HttpProblem } from './problem.ts';
import { InFlight } from './request-limits.ts';
import { readRequest } from './request.ts';

/** Methods some endpoint takes (HEAD with every GET; OPTIONS is answered for every known path). */
function implementedMethods(endpoints: readonly Endpoint[]): Set<string> {
  const methods = new Set<string>(['HEAD', 'OPTIONS']);
  for (const endpoint of endpoints) methods.add(endpoint.method);
  return methods;
}

/** The routes, then the answer for a request none of them matched: mount both, in this order. */
export function endpointRouter(endpoints: readonly Endpoint[], deps: AppDeps, admission: Admission): Koa.Middleware[] {
  const router = new Router({ sensitive: true, strict: true });
  const inFlight = new InFlight(deps.maxInFlight);
  for (const endpoint of endpoints) router.register(endpoint.path, [endpoint.method], serve(endpoint, deps, admission, inFlight));
  const implemented = implementedMethods(endpoints);

  const unmatched: Koa.Middleware = async (ctx) => {
    const leave = inFlight.enter();
    try {
      await answerUnmatched(ctx);
    } finally {
      leave();
    }
  };
  /** 404, 405, 501 or OPTIONS's 204, for a valid token. */
  const answerUnmatched = async (ctx: Koa.Context) => {
    await admission.admitAnyToken(ctx);
    const allowed = allowedMethods(router, ctx.path);
    if (allowed.length === 0) throw new HttpProblem(404, 'route_not_found', 'Not found', `no route for ${ctx.method} ${ctx.path}`);
    const allow = { Allow: allowed.join(', ') };
    if (ctx.method === 'OPTIONS') {
      ctx.set(allow);
      ctx.status = 204;
      return;
    }
    if (!implemented.has(ctx.method)) {
      throw new HttpProblem(501, 'not_implemented', 'Not implemented', `this API has no ${ctx.method} anywhere; ${ctx.path} takes ${allow.Allow}`, {}, allow);
    }
    throw new HttpProblem(405, 'method_not_allowed', 'Method not allowed', `${ctx.method} is not allowed here; allowed: ${allow.Allow}`, {}, allow);
  };

  // The router's middleware types its context with params; the app's is the plain one.
  return [router.routes() as unknown as Koa.Middleware, unmatched];
}

/** The methods the declarations take at this path (HEAD with GET, and OPTIONS), or none. */
function allowedMethods(router: Router, path: string): string[] {
  const methods = new Set<string>();
  for (const layer of router.match(path, 'GET').path) for (const method of layer.methods) methods.add(method);
  if (methods.size > 0) methods.add('OPTIONS');
  return [...methods];
}

/** The steps of one declared route. */
function serve(endpoint: Endpoint, deps: AppDeps, admission: Admission, inFlight: InFlight): Koa.Middleware {
  return async (ctx) => {
    setRoute(ctx, endpoint.path);
    // A liveness probe is never shed; everything else takes a place or is refused at once.
    const leave = endpoint.liveness ? undefined : inFlight.enter();
    try {
      await steps(ctx, endpoint, deps, admission);
    } finally {
      leave?.();
    }
  };
}

/** Admission, the request read and validated, the handler (a write inside its audit row's commit hook), the answer. */
async function steps(ctx: Koa.Context, endpoint: Endpoint, deps: AppDeps, admission: Admission): Promise<void> {
  const principal = await admission.admit(ctx, endpoint);
  const run = async () => {
    const input = await readRequest(ctx, endpoint, deps.bodyLimitBytes);
    const request = { ...input, principal, ctx };
    const handle = () => Promise.resolve(endpoint.handler(request, deps));
    let result: unknown;
    if (principal && !isReadMethod(ctx.method)) {
      const hook = deps.audit.commitHook(ctx, endpoint.response.status);
      ctx.state.auditHook = hook;
      result = await withCommitHook(hook, handle);
    } else {
      result = await handle();
    }
    respond(ctx, endpoint, result, deps.checkResponses);
  };
  // The token's public id goes on every log line of the request (never the token).
  await (principal ? withLogContext({ token: principal.publicId }, run) : run());
}

const responseValidators = new WeakMap<Endpoint, Validator<unknown>>();

function respond(ctx: Koa.Context, endpoint: Endpoint, result: unknown, checkResponses: boolean): void {
  const { status, schema, mediaType } = endpoint.response;
  ctx.status = status;
  if (status === 204 || schema === undefined) {
    ctx.body = null;
    ctx.status = status;
    return;
  }
  if (checkResponses) {
    let validate = responseValidators.get(endpoint);
    if (!validate) responseValidators.set(endpoint, (validate = compile(schema)));
    const checked = validate(structuredClone(result));
    if (!checked.ok) {
      throw new Error(`${endpoint.method} ${endpoint.path} answered what its response schema does not allow: ${JSON.stringify(checked.issues)}`);
    }
  }
  if (mediaType) ctx.type = mediaType;
  ctx.body = result;
}
