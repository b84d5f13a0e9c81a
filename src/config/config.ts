/**
 * Configuration: config/default.json, then an optional JSON file named by
 * CONFIG_FILE, then environment variables. Everything is validated at start-up;
 * a bad value stops the process with a message naming the setting and the rule,
 * instead of paging on a wrong timetable.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DURATION_BOUNDS, parseDuration } from '../domain/durations.ts';
import { parseSize } from './units.ts';

export interface Config {
  /** maxInFlight: requests an API process serves at once; past it, 503 overloaded at once. */
  http: { host: string; port: number; bodyLimitBytes: number; maxInFlight: number };
  databaseUrl: string;
  database: {
    /**
     * The role every connection of the API and the workers takes (`-c role=` at
     * connect; see src/db/pool.ts); empty: the login role as it is. The migrations
     * always run as the login, which owns the schema.
     */
    role: string;
  };
  redisUrl: string;
  redis: { keyPrefix: string; commandTimeoutMs: number };
  log: { level: LogLevel; format: 'json' | 'pretty' };
  escalation: { levelDelaysMs: number[] };
  clock: { syncIntervalMs: number };
  /** Requests per API token: a bucket of `burst` refilled at `ratePerMinute`. */
  rateLimit: { ratePerMinute: number; burst: number };
  /**
   * Requests per client address that carry no valid token (none, malformed, unknown,
   * revoked, expired) or ask /readyz: each costs a lookup, so each is counted.
   */
  addressRateLimit: { ratePerMinute: number; burst: number };
  worker: {
    /** The most escalations claimed and executed in one transaction. */
    batchSize: number;
    /**
     * Batches in flight at once. More than one hides a batch's COMMIT (an fsync,
     * measured at up to 190 ms, once 800 ms, on this machine's disk under load)
     * behind the claim and execution of the next ones.
     */
    concurrency: number;
    /** How long a claim is held before another worker may take it over. */
    leaseMs: number;
    /** The longest sleep, whatever the index says (bounds a lost wake-up). */
    maxSleepMs: number;
    /** How often Postgres is polled in degraded mode. */
    degradedPollMs: number;
    /** How often the index is rebuilt from Postgres. */
    reconcileIntervalMs: number;
    /** Rows per keyset page of a rebuild. */
    reconcilePageSize: number;
    /** A tick or batch slower than this is logged. */
    slowTickMs: number;
    /** Port of the worker's /metrics endpoint (on http.host); 0 disables it. */
    metricsPort: number;
  };
}

const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];


export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

interface RawConfig {
  http?: { host?: unknown; port?: unknown; bodyLimit?: unknown; maxInFlight?: unknown };
  database?: { role?: unknown };
  log?: { level?: unknown; format?: unknown };
  redis?: { keyPrefix?: unknown; commandTimeout?: unknown };
  escalation?: { levels?: unknown };
  clock?: { syncInterval?: unknown };
  rateLimit?: { perMinute?: unknown; burst?: unknown; addressPerMinute?: unknown; addressBurst?: unknown };
  worker?: Record<string, unknown>;
}

const DEFAULT_FILE = fileURLToPath(new URL('../../config/default.json', import.meta.url));

export interface LoadOptions {
  /** Processes that never touch Redis (migrate) may run without REDIS_URL. */
  requireRedis?: boolean;
}

export function loadConfig(env: Env = process.env, { requireRedis = true }: LoadOptions = {}): Config {
  const problems: string[] = [];
  const raw = readJson(DEFAULT_FILE, problems);
  if (env.CONFIG_FILE) mergeInto(raw as Record<string, unknown>, readJson(env.CONFIG_FILE, problems) as Record<string, unknown>);

  // Each setting: where it came from (for the error message) and its raw value.
  const pick = (envName: string, fileValue: unknown, fileName: string): [string, unknown] =>
    env[envName] !== undefined ? [envName, env[envName]] : [fileName, fileValue];

  const check = <T>(source: [string, unknown], parse: (v: unknown) => T): T => {
    try {
      return parse(source[1]);
    } catch (error) {
      problems.push(`${source[0]}: ${(error as Error).message}`);
      return undefined as T;
    }
  };

  const levelsSource = pick('ESCALATION_LEVELS', raw.escalation?.levels, 'escalation.levels');
  const config: Omit<Config, 'worker'> & Partial<Pick<Config, 'worker'>> = {
    http: {
      host: check(pick('HOST', raw.http?.host, 'http.host'), asNonEmptyString),
      port: check(pick('PORT', raw.http?.port, 'http.port'), asPort),
      bodyLimitBytes: check(pick('HTTP_BODY_LIMIT', raw.http?.bodyLimit, 'http.bodyLimit'), (v) =>
        parseSize(asNonEmptyString(v)),
      ),
      maxInFlight: check(pick('HTTP_MAX_IN_FLIGHT', raw.http?.maxInFlight, 'http.maxInFlight'), (v) => asCount(v, 100_000)),
    },
    databaseUrl: check(['DATABASE_URL', env.DATABASE_URL], (v) => asUrl(v, ['postgres:', 'postgresql:'])),
    database: { role: check(pick('DATABASE_ROLE', raw.database?.role, 'database.role'), asRoleName) },
    redisUrl:
      requireRedis || env.REDIS_URL ? check(['REDIS_URL', env.REDIS_URL], (v) => asUrl(v, ['redis:', 'rediss:'])) : '',
    redis: {
      keyPrefix: check(pick('REDIS_KEY_PREFIX', raw.redis?.keyPrefix, 'redis.keyPrefix'), asKeyPrefix),
      commandTimeoutMs: check(pick('REDIS_COMMAND_TIMEOUT', raw.redis?.commandTimeout, 'redis.commandTimeout'), (v) =>
        parseDuration(asNonEmptyString(v)),
      ),
    },
    log: {
      level: check(pick('LOG_LEVEL', raw.log?.level, 'log.level'), (v) => asOneOf(v, LOG_LEVELS)),
      format: check(pick('LOG_FORMAT', raw.log?.format, 'log.format'), (v) =>
        resolveLogFormat(asOneOf(v, ['auto', 'json', 'pretty'] as const), env),
      ),
    },
    escalation: { levelDelaysMs: check(levelsSource, asLevelDelays) },
    clock: {
      syncIntervalMs: check(pick('CLOCK_SYNC_INTERVAL', raw.clock?.syncInterval, 'clock.syncInterval'), (v) =>
        parseDuration(asNonEmptyString(v)),
      ),
    },
    rateLimit: {
      ratePerMinute: check(pick('RATE_LIMIT_PER_MINUTE', raw.rateLimit?.perMinute, 'rateLimit.perMinute'), (v) => asCount(v, 1_000_000)),
      burst: check(pick('RATE_LIMIT_BURST', raw.rateLimit?.burst, 'rateLimit.burst'), (v) => asCount(v, 1_000_000)),
    },
    addressRateLimit: {
      ratePerMinute: check(pick('RATE_LIMIT_ADDRESS_PER_MINUTE', raw.rateLimit?.addressPerMinute, 'rateLimit.addressPerMinute'), (v) =>
        asCount(v, 1_000_000),
      ),
      burst: check(pick('RATE_LIMIT_ADDRESS_BURST', raw.rateLimit?.addressBurst, 'rateLimit.addressBurst'), (v) => asCount(v, 1_000_000)),
    },
  };
  const worker = raw.worker ?? {};
  const duration = (envName: string, key: string) =>
    check(pick(envName, worker[key], `worker.${key}`), (v) => parseDuration(asNonEmptyString(v)));
  const count = (envName: string, key: string, max: number) =>
    check(pick(envName, worker[key], `worker.${key}`), (v) => asCount(v, max));
  config.worker = {
    batchSize: count('WORKER_BATCH_SIZE', 'batchSize', 10_000),
    concurrency: count('WORKER_CONCURRENCY', 'concurrency', 16),
    leaseMs: duration('WORKER_LEASE', 'lease'),
    maxSleepMs: duration('WORKER_MAX_SLEEP', 'maxSleep'),
    degradedPollMs: duration('WORKER_DEGRADED_POLL', 'degradedPoll'),
    reconcileIntervalMs: duration('RECONCILE_INTERVAL', 'reconcileInterval'),
    reconcilePageSize: count('RECONCILE_PAGE_SIZE', 'reconcilePageSize', 100_000),
    slowTickMs: duration('WORKER_SLOW_TICK', 'slowTick'),
    metricsPort: check(pick('WORKER_METRICS_PORT', worker.metricsPort, 'worker.metricsPort'), asPort),
  };
  if (problems.length) throw new ConfigError(problems);
  return config as Config;
}

function readJson(file: string, problems: string[]): RawConfig {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RawConfig;
  } catch (error) {
    problems.push(`${file}: ${(error as Error).message}`);
    return {};
  }
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key];
    if (isPlainObject(current) && isPlainObject(value)) mergeInto(current, value);
    else target[key] = value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asNonEmptyString(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new Error('must be a non-empty string');
  return value.trim();
}

function asPort(value: unknown): number {
  const port = typeof value === 'number' ? value : Number(asNonEmptyString(value));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`"${String(value)}" is not a port (0-65535)`);
  return port;
}

function asUrl(value: unknown, protocols: string[]): string {
  if (value === undefined || value === '') throw new Error(`is required (a ${protocols[0]}// URL)`);
  const text = asNonEmptyString(value);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('is not a URL');
  }
  if (!protocols.includes(url.protocol)) throw new Error(`must start with ${protocols.join(' or ')}//`);
  return text;
}

function asKeyPrefix(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9:_{}.-]*$/.test(value)) {
    throw new Error('may only contain letters, digits and : _ { } . -');
  }
  return value;
}

/** A plain Postgres role name (it goes into the startup options unquoted), or empty. */
function asRoleName(value: unknown): string {
  if (typeof value !== 'string' || !/^([A-Za-z_][A-Za-z0-9_$]{0,62})?$/.test(value)) {
    throw new Error('must be empty or a role name of letters, digits, _ and $ (at most 63, not starting with a digit)');
  }
  return value;
}

function asCount(value: unknown, max: number): number {
  const n = typeof value === 'number' ? value : Number(asNonEmptyString(value));
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`"${String(value)}" must be a whole number from 1 to ${max}`);
  return n;
}

function asOneOf<T extends string>(value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new Error(`"${String(value)}" is not one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function resolveLogFormat(format: 'auto' | 'json' | 'pretty', env: Env): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return env.NODE_ENV === 'production' ? 'json' : 'pretty';
}

/** `["5m", "15m"]` from the file, or `5m,15m,60m` from the environment. */
function asLevelDelays(value: unknown): number[] {
  const items = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(items) || items.length === 0) throw new Error('must list at least one level delay, e.g. 5m,15m,60m');
  if (items.length > 20) throw new Error('at most 20 levels');
  return items.map((item, index) => {
    const ms = parseDuration(asNonEmptyString(item));
    const { min, max, text } = DURATION_BOUNDS.configuredLevelDelay;
    if (ms < min || ms > max) throw new Error(`level ${index + 1}: "${String(item)}" must be ${text}`);
    return ms;
  });
}

/** The URL with its password replaced, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable url)';
  }
}
