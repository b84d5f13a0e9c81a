/**
 * The Koa application, built from its dependencies and never listening by itself:
 * the API process calls listen(); tests drive app.callback() on an ephemeral port.
 */
import { type Server, createServer } from 'node:http';
import Koa from 'koa';
import type { CommandDeps } from '../commands/deps.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { RedisClient } from '../redis/client.ts';
import type { RedisKeys } from '../redis/keys.ts';
import { jsonBody } from './json-body.ts';
import { problemHandler } from './problem.ts';
import { requestContext } from './request-context.ts';
import { docsRoutes } from './routes/docs.ts';
import { healthRoutes } from './routes/health.ts';
import { incidentRoutes } from './routes/incidents.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { serviceRoutes } from './routes/services.ts';
import { policyRoutes } from './routes/policies.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { statsRoutes } from './routes/stats.ts';
import { teamRoutes } from './routes/teams.ts';
import { userRoutes } from './routes/users.ts';

export interface AppDeps extends CommandDeps {
  redis: RedisClient;
  keys: RedisKeys;
  bodyLimitBytes: number;
  metrics: Metrics;
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  // Behind a proxy the client address and protocol come from X-Forwarded-*; we log neither.
  app.proxy = false;

  const health = healthRoutes(deps);
  const incidents = incidentRoutes(deps);
  const stats = statsRoutes(deps);
  const policies = policyRoutes(deps);
  const schedules = scheduleRoutes(deps);

  app.use(requestContext(deps.logger, deps.metrics));
  app.use(problemHandler(deps.logger));
  app.use(jsonBody(deps.bodyLimitBytes));
  for (const router of [health, metricsRoutes(deps), stats, docsRoutes(), policies, schedules, incidents, userRoutes(deps), teamRoutes(deps), serviceRoutes(deps)]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}

/** An HTTP server for the app (Koa handles its own errors, so the promise is not awaited). */
export function createHttpServer(app: Koa): Server {
  const handle = app.callback();
  return createServer((req, res) => {
    void handle(req, res);
  });
}
