/**
 * The worker's /metrics endpoint: a bare node:http server (the worker has no Koa
 * app), answering GET /metrics and 404 for anything else.
 */
import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from './metrics.ts';

/** Listens on `port` (0: an ephemeral one, for tests) and resolves once listening. */
export async function startMetricsServer(metrics: Metrics, port: number, host: string, logger: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (error: unknown) => {
        logger.warn('collecting metrics failed', { error });
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  });
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}
