/**
 * The Koa application, built from its dependencies and never listening by itself:
 * the API process calls listen(); tests drive app.callback() on an ephemeral port.
 *
 * Every route comes from the endpoint declarations (src/api/endpoints/), through
 * src/api/router.ts; the middleware here is what every request goes through first.
 */
import { type Server, createServer } from 'node:http';
import net, { type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
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
      // Closing (closeHttpServer stopped listening first): the answer says so, and Node
      // closes the connection after it.
      if (!server.listening) res.setHeader('Connection', 'close');
      void handle(req, res);
    },
  );
  server.headersTimeout = SERVER_LIMITS.headersTimeoutMs;
  server.requestTimeout = SERVER_LIMITS.requestTimeoutMs;
  server.keepAliveTimeout = keepAliveTimeoutMs;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  socketsOf.set(server, sockets);
  return server;
}

/** The open connections of each server of createHttpServer. */
const socketsOf = new WeakMap<Server, Set<Socket>>();

/** How long a closing server lets its clients finish with their connections (the drain). */
export const DRAIN_MS = 1_000;
/** How often a closing server checks whether its connections are all gone. */
const CLOSING_POLL_MS = 50;

/**
 * Stops the server without resetting a request a client has sent: stop listening,
 * drain, then close.
 *
 * Closing a keep-alive connection races with the client, which may be sending its next
 * request on it at that very moment: that request meets a reset, and the client cannot
 * tell whether it was served (a POST is not retried). So the listener closes first (a
 * new connection is refused: nothing was sent, any client may retry), and each request
 * that arrives from then on is answered with "Connection: close", after which Node
 * closes its connection: a client still using its connection learns to stop at its
 * next answer. After DRAIN_MS (sooner once no connection is left), the connections
 * still idle, those of clients that sent nothing meanwhile (a proxy's spare
 * connections, one never used), are closed, and any other as soon as its request is
 * answered. Resolves once every connection is closed. (Requests in flight are not told
 * "close": a request pipelined behind one would be served and never answered.)
 *
 * Node 20's own server.close() would close the idle connections at once (the race
 * above), answer every later request on the others "Connection: keep-alive", and hold
 * them for the whole keep-alive timeout (75 s), keeping the process from exiting. Hence
 * net.Server's close, which stops listening and leaves the connections to us.
 */
export async function closeHttpServer(server: Server, drainMs = DRAIN_MS): Promise<void> {
  const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
  const drainEnds = performance.now() + drainMs;
  while (performance.now() < drainEnds && (await connectionCount(server)) > 0) {
    await sleep(Math.min(CLOSING_POLL_MS, Math.max(0, drainEnds - performance.now())));
  }
  const sweep = setInterval(() => server.closeIdleConnections(), CLOSING_POLL_MS);
  server.closeIdleConnections();
  // Node counts a connection that has sent nothing yet as waiting for its first request
  // (it would close it after the 10 s headers timeout): one that sent nothing is closed too.
  for (const socket of socketsOf.get(server) ?? []) {
    if (socket.bytesRead === 0) socket.destroy();
  }
  try {
    await closed;
  } finally {
    clearInterval(sweep);
  }
}

function connectionCount(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)));
}
