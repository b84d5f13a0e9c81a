/**
 * GET /metrics: Prometheus' text exposition format. Unlike /healthz it does I/O (the
 * escalation gauges are read from Postgres), but it still answers when Postgres is
 * down, without those samples.
 */
import { Router } from '@koa/router';
import type { Metrics } from '../../metrics/metrics.ts';

export function metricsRoutes(deps: { metrics: Metrics }): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    ctx.body = await deps.metrics.registry.metrics();
    ctx.type = deps.metrics.registry.contentType;
  });
  return router;
}
