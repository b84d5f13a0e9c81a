/**
 * The Koa application, built from its dependencies and never listening by itself:
 * the API process calls listen(); tests drive app.callback() on an ephemeral port.
 *
 * Every route comes from the endpoint declarations (src/api/endpoints/), through
 * src/api/router.ts; the middleware here is what every request goes through first.
 */
import { type Server, createServer } from 'node:http';
import Koa from 'koa';
import { Admission } from './admission.ts';
import { auditTrail } from './audit.ts';
import type { AppDeps } from './deps.ts';
import { ENDPOINTS } from './endpoints/index.ts';
import { problemHandler } from './problem.ts';
import { requestContext } from './request-context.ts';
import { SERVER_LIMITS, requestLimits } from './request-limits.ts';
import { endpointRouter } from './router.ts';

export type { AppDeps } from './deps.ts';

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  // Behind a proxy the client address and protocol come from X-Forwarded-*; we log neither.
  app.proxy = false;

  app.use(requestContext(deps.logger, deps.metrics));
  // Outside the problem handler: it records the status the caller got.
  app.use(auditTrail(deps.audit));
  app.use(problemHandler(deps.logger));
  app.use(requestLimits());
  for (const middleware of endpointRouter(ENDPOINTS, deps, new Admission(deps))) app.use(middleware);
  return app;
}

/**
 * An HTTP server for the app (Koa handles its own errors, so the promise is not awaited),
 * with the socket-level limits of src/api/request-limits.ts: header size, slow-loris timeouts.
 */
export function createHttpServer(app: Koa): Server {
  const handle = app.callback();
  const server = createServer(
    { maxHeaderSize: SERVER_LIMITS.maxHeaderSize, connectionsCheckingInterval: SERVER_LIMITS.connectionsCheckingIntervalMs },
    (req, res) => {
      void handle(req, res);
    },
  );
  server.headersTimeout = SERVER_LIMITS.headersTimeoutMs;
  server.requestTimeout = SERVER_LIMITS.requestTimeoutMs;
  server.keepAliveTimeout = SERVER_LIMITS.keepAliveTimeoutMs;
  return server;
}
