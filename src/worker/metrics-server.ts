/**
 * The worker's /metrics endpoint: a bare node:http server (the worker has no Koa
 * app), answering GET /metrics. Like the API's, it wants a token with the `metrics`
 * scope (401 without a valid one, 403 without the scope), and it refuses as the API
 * does: RFC 9457 problems (application/problem+json) with the same codes.
 */
import { once } from 'node:events';
import { type Server, type ServerResponse, createServer } from 'node:http';
import { AuthenticationError, type Authenticator } from '../auth/authenticate.ts';
import { grants } from '../domain/scopes.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

type Gate = 'open' | 401 | 403 | 503;

interface Refusal {
  code: string;
  title: string;
  detail: string;
  headers?: Record<string, string>;
}

const REFUSALS: Record<Exclude<Gate, 'open'> | 404 | 405, Refusal> = {
  401: {
    code: 'unauthenticated',
    title: 'Unauthorized',
    detail: 'a token with the metrics scope is needed: Authorization: Bearer <token>',
    headers: { 'www-authenticate': 'Bearer realm="klaxon"' },
  },
  403: { code: 'insufficient_scope', title: 'Forbidden', detail: 'this token lacks the metrics scope' },
  404: { code: 'route_not_found', title: 'Not found', detail: 'this process serves GET /metrics only' },
  405: { code: 'method_not_allowed', title: 'Method not allowed', detail: '/metrics takes GET and HEAD', headers: { allow: 'GET, HEAD' } },
  503: { code: 'database_unavailable', title: 'Service unavailable', detail: 'the token cannot be checked right now', headers: { 'retry-after': '5' } },
};

/** A problem answer, as src/api/problem.ts writes them (no request id: this server logs none). */
function refuse(res: ServerResponse, status: keyof typeof REFUSALS, instance: string): void {
  const { code, title, detail, headers } = REFUSALS[status];
  const body = JSON.stringify({ type: `urn:klaxon:problem:${code}`, title, status, detail, code, instance });
  res.writeHead(status, { 'content-type': 'application/problem+json', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', ...headers }).end(body);
}

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
export async function startMetricsServer(metrics: Metrics, port: number, host: string, logger: Logger, authenticator: Authenticator): Promise<Server> {
  const serve = (res: ServerResponse) =>
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (error: unknown) => {
        logger.warn('collecting metrics failed', { error });
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0] ?? '';
    // The same answer with or without a token: what this server serves is no secret.
    if (path !== '/metrics') return refuse(res, 404, path.slice(0, 200));
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, path);
    void gate(authenticator, req.headers.authorization, logger).then((outcome) => (outcome === 'open' ? serve(res) : refuse(res, outcome, path)));
  });
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}
