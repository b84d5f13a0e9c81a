/**
 * The worker's /metrics endpoint: a bare node:http server (the worker has no Koa
 * app), answering GET /metrics and 404 for anything else. Like the API's, it wants a
 * token with the `metrics` scope (401 without a valid one, 403 without the scope).
 */
import { once } from 'node:events';
import { type Server, type ServerResponse, createServer } from 'node:http';
import { AuthenticationError, type Authenticator } from '../auth/authenticate.ts';
import { grants } from '../auth/scopes.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from './metrics.ts';

type Gate = 'open' | 401 | 403 | 503;

const REFUSALS: Record<Exclude<Gate, 'open'>, string> = {
  401: 'a token with the metrics scope is needed: Authorization: Bearer <token>',
  403: 'this token lacks the metrics scope',
  503: 'the token cannot be checked right now',
};

async function gate(authenticator: Authenticator, authorization: string | undefined, logger: Logger): Promise<Gate> {
  try {
    const principal = await authenticator.authenticate(authorization);
    return grants(principal.scopes, 'metrics') ? 'open' : 403;
  } catch (error) {
    if (error instanceof AuthenticationError) return 401;
    logger.warn('cannot check a metrics token', { error });
    return 503;
  }
}

/** Listens on `port` (0: an ephemeral one, for tests) and resolves once listening. */
export async function startMetricsServer(
  metrics: Metrics,
  port: number,
  host: string,
  logger: Logger,
  authenticator: Authenticator,
): Promise<Server> {
  const serve = (res: ServerResponse) =>
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (error: unknown) => {
        logger.warn('collecting metrics failed', { error });
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    void gate(authenticator, req.headers.authorization, logger).then((outcome) => {
      if (outcome === 'open') return serve(res);
      const headers = { 'content-type': 'text/plain', ...(outcome === 401 ? { 'www-authenticate': 'Bearer realm="klaxon"' } : {}) };
      res.writeHead(outcome, headers).end(`${REFUSALS[outcome]}\n`);
    });
  });
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}
