/**
 * The Koa application, built from its dependencies and never listening by itself:
 * the API process calls listen(); tests drive app.callback() on an ephemeral port.
 */
import { type Server, createServer } from 'node:http';
import Koa from 'koa';
import { Authenticator } from '../auth/authenticate.ts';
import type { CommandDeps } from '../commands/deps.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { RateLimiter } from '../ratelimit/rate-limiter.ts';
import type { RedisClient } from '../redis/client.ts';
import type { RedisKeys } from '../redis/keys.ts';
import { principalIfAny } from './access.ts';
import { auditLog } from './audit-log.ts';
import { authentication } from './authentication.ts';
import { jsonBody } from './json-body.ts';
import { problemHandler } from './problem.ts';
import { rateLimit } from './rate-limit.ts';
import { requestContext } from './request-context.ts';
import { SERVER_LIMITS, requestLimits } from './request-limits.ts';
import { docsRoutes } from './routes/docs.ts';
import { healthRoutes } from './routes/health.ts';
import { incidentRoutes } from './routes/incidents.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { serviceRoutes } from './routes/services.ts';
import { policyRoutes } from './routes/policies.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { statsRoutes } from './routes/stats.ts';
import { teamRoutes } from './routes/teams.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { userRoutes } from './routes/users.ts';

export interface AppDeps extends CommandDeps {
  redis: RedisClient;
  keys: RedisKeys;
  bodyLimitBytes: number;
  metrics: Metrics;
  rateLimiter: RateLimiter;
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
  app.use(auditLog(deps));
  app.use(problemHandler(deps.logger));
  app.use(requestLimits());
  app.use(authentication(new Authenticator(deps.pool, deps.clock, deps.logger)));
  // After authentication: the bucket is the token's (unauthenticated requests never get this far).
  app.use(rateLimit(deps.rateLimiter, (ctx) => {
    const principal = principalIfAny(ctx);
    return principal ? `token:${principal.tokenId}` : undefined;
  }));
  app.use(jsonBody(deps.bodyLimitBytes));
  for (const router of [health, metricsRoutes(deps), stats, docsRoutes(), policies, schedules, incidents, userRoutes(deps), teamRoutes(deps), serviceRoutes(deps), tokenRoutes(deps)]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
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
