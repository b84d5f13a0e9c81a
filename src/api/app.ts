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
 *
 * An idle keep-alive connection stays open `keepAliveTimeoutMs` (HTTP_KEEP_ALIVE_TIMEOUT,
 * 75 s by default; Node's own default is 5 s). A proxy in front (a load balancer, nginx)
 * reuses its idle connections for as long as its own idle timeout, 60 s for most: if the
 * server closed one first, the request the proxy sent on it meets a reset, and the caller
 * a 502. So the server must hold them longer than the proxy. The answers say the timeout
 * (`Keep-Alive: timeout=75`), and clients that read it close first. (The 10 s headers
 * timeout runs only while a request is arriving, not while a connection is idle.)
 */
export function createHttpServer(app: Koa, keepAliveTimeoutMs: number): Server {
  const handle = app.callback();
  const server = createServer(
    { maxHeaderSize: SERVER_LIMITS.maxHeaderSize, connectionsCheckingInterval: SERVER_LIMITS.connectionsCheckingIntervalMs },
    (req, res) => {
      // Closing (closeHttpServer): the answer says so, and Node closes the connection after it.
      if (!server.listening) res.setHeader('Connection', 'close');
      void handle(req, res);
    },
  );
  server.headersTimeout = SERVER_LIMITS.headersTimeoutMs;
  server.requestTimeout = SERVER_LIMITS.requestTimeoutMs;
  server.keepAliveTimeout = keepAliveTimeoutMs;
  return server;
}

/** How often a closing server looks for connections its last answers left idle. */
const CLOSING_SWEEP_MS = 50;

/**
 * Stops taking connections and resolves once every request in flight has been answered
 * and every connection is closed. Node closes the idle ones at once, but answers a
 * request that was already running with "Connection: keep-alive" and would then hold
 * that connection for the whole keep-alive timeout (75 s), keeping the process from
 * exiting: so each is closed as soon as its answer leaves it idle. A request arriving
 * meanwhile on such a connection is still answered, with "Connection: close".
 */
export function closeHttpServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), CLOSING_SWEEP_MS);
    server.close(() => {
      clearInterval(sweep);
      resolve();
    });
  });
}
