/**
 * What the API needs, built once per process (src/main/api.ts) or per test file
 * (test/support/context.ts) by createApiDeps, so both wire it the same way.
 */
import { Authenticator } from '../auth/authenticate.ts';
import { IntegrationKeys } from '../auth/integration-keys.ts';
import type { CommandDeps } from '../commands/deps.ts';
import { ServiceFactsCache } from '../commands/intake.ts';
import type { Config } from '../config/config.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { type RateLimitPolicy, type RateLimiter, createRateLimiter } from '../ratelimit/rate-limiter.ts';
import type { RedisClient } from '../redis/client.ts';
import type { RedisKeys } from '../redis/keys.ts';
import { AuditLog, type AuditLogOptions } from './audit.ts';
import { Readiness } from './readiness.ts';

export interface AppDeps extends CommandDeps {
  redis: RedisClient;
  keys: RedisKeys;
  bodyLimitBytes: number;
  /** Requests served at once; past it, 503 overloaded at once (HTTP_MAX_IN_FLIGHT). */
  maxInFlight: number;
  metrics: Metrics;
  authenticator: Authenticator;
  /** Per token. */
  rateLimiter: RateLimiter;
  /** Per client address, for requests without a valid token and the public /readyz. */
  addressRateLimiter: RateLimiter;
  /** Finds the live integration key an alert was sent with (issue 12). */
  integrationKeys: IntegrationKeys;
  /**
   * Per integration key, each by its own policy (takeIntakeBudget in
   * src/commands/integration-keys.ts); its `policy` is the default of keys without one.
   */
  intakeRateLimiter: RateLimiter;
  /** New incidents alerts may open on a service in a minute before the rest fold into a storm (INTAKE_STORM_PER_MINUTE). */
  intakeStormPerMinute: number;
  /** What alerts need of their services, kept between alerts (checked by every trigger's statement). */
  intakeServices: ServiceFactsCache;
  audit: AuditLog;
  readiness: Readiness;
  /**
   * Check every answer against its endpoint's response schema and fail the request
   * when it does not match (the tests turn it on: a presenter that drifts from its
   * documented schema is a red test, not a surprise for a client).
   */
  checkResponses: boolean;
  /**
   * What the inbound notification endpoints (action links, Slack interactions, Twilio
   * callbacks: src/api/endpoints/inbound.ts) need of config.notify. An empty key list,
   * signing secret or auth token: that endpoint refuses everything.
   */
  notify: NotifySettings;
}

export type NotifySettings = Pick<Config['notify'], 'publicUrl' | 'linkKeys' | 'linkTtlMs' | 'twilio' | 'slack'>;

/** Nothing configured: every inbound endpoint refuses (the tests that need them pass their own). */
export const NO_NOTIFY_SETTINGS: NotifySettings = {
  publicUrl: 'http://localhost',
  linkKeys: [],
  linkTtlMs: 24 * 60 * 60_000,
  twilio: { baseUrl: '', accountSid: '', authToken: '', fromNumber: '' },
  slack: { apiUrl: '', botToken: '', signingSecret: '' },
};

/** config/default.json's intake rate: the Events API's own, 120 events a minute with bursts of 240. */
export const DEFAULT_INTAKE_RATE_LIMIT: RateLimitPolicy = Object.freeze({ ratePerMinute: 120, burst: 240 });

/** config/default.json's intake.stormPerMinute. */
export const DEFAULT_INTAKE_STORM_PER_MINUTE = 20;

/** config/default.json's http.maxInFlight. */
export const DEFAULT_MAX_IN_FLIGHT = 256;

export interface ApiDepsOptions extends CommandDeps {
  redis: RedisClient;
  keys: RedisKeys;
  bodyLimitBytes: number;
  maxInFlight?: number;
  metrics: Metrics;
  rateLimit: RateLimitPolicy;
  addressRateLimit: RateLimitPolicy;
  /** The rate of integration keys without their own (default DEFAULT_INTAKE_RATE_LIMIT, as config/default.json). */
  intakeRateLimit?: RateLimitPolicy;
  /** Default DEFAULT_INTAKE_STORM_PER_MINUTE, as config/default.json. */
  intakeStormPerMinute?: number;
  audit?: AuditLogOptions;
  checkResponses?: boolean;
  notify?: NotifySettings;
}

export function createApiDeps(options: ApiDepsOptions): AppDeps {
  const {
    rateLimit,
    addressRateLimit,
    intakeRateLimit = DEFAULT_INTAKE_RATE_LIMIT,
    intakeStormPerMinute = DEFAULT_INTAKE_STORM_PER_MINUTE,
    audit,
    checkResponses,
    maxInFlight,
    notify,
    ...base
  } = options;
  const limiter = (policy: RateLimitPolicy) =>
    // Its Redis calls wait at most REDIS_COMMAND_TIMEOUT: the client's own deadline (src/redis/client.ts).
    createRateLimiter({ redis: base.redis, keys: base.keys, policy, logger: base.logger });
  return {
    ...base,
    maxInFlight: maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    authenticator: new Authenticator(base.pool, base.clock, base.logger),
    rateLimiter: limiter(rateLimit),
    addressRateLimiter: limiter(addressRateLimit),
    integrationKeys: new IntegrationKeys(base.pool, intakeRateLimit),
    intakeRateLimiter: limiter(intakeRateLimit),
    intakeStormPerMinute,
    intakeServices: new ServiceFactsCache(),
    audit: new AuditLog(base, audit),
    readiness: new Readiness(base),
    checkResponses: checkResponses ?? false,
    notify: notify ?? NO_NOTIFY_SETTINGS,
  };
}
