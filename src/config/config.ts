/**
 * Configuration: config/default.json, then an optional JSON file named by
 * CONFIG_FILE, then environment variables. Every setting is declared once below
 * (SETTINGS: its place in the file, its environment variable, its JSON schema) and all
 * of them are validated at start-up by one ajv schema; a bad value stops the process
 * with a message naming the setting as it was given (the variable, or the file's key)
 * and the rule, instead of paging on a wrong timetable.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { DURATION_BOUNDS, durationWithin, parseDuration } from '../domain/durations.ts';
import { type Static, type TSchema, Type } from '../schema/types.ts';
import { parseSize } from './units.ts';

export interface Config {
  /**
   * maxInFlight: requests an API process serves at once; past it, 503 overloaded at once.
   * keepAliveTimeoutMs: how long an idle keep-alive connection is kept open.
   * warmUp: requests a starting API process serves itself, on copies of the tables,
   * before it listens (src/api/warm-up.ts); 0: none.
   */
  http: { host: string; port: number; bodyLimitBytes: number; maxInFlight: number; keepAliveTimeoutMs: number; warmUp: number };
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
  /**
   * Alerts per integration key (issue 12) that has no rate of its own: the Events API's
   * own limits, 120 events a minute with bursts of 240.
   */
  intakeRateLimit: { ratePerMinute: number; burst: number };
  /**
   * New incidents alerts may open on one service in a minute; the alerts past it fold
   * into the service's one "alert storm" incident (issue 12).
   */
  intakeStormPerMinute: number;
  worker: {
    /** The most escalations claimed and executed in one transaction. */
    batchSize: number;
    /**
     * The most batches in flight at once. More than one hides a slow batch (a COMMIT
     * waiting on an fsync, measured at up to 190 ms, once 800 ms, on this machine's
     * disk under load) behind the claim and execution of the next ones, and lets a
     * backlog be worked through faster. Whether the next batch starts before the one
     * in flight ends is overlapAfterMs' business.
     */
    concurrency: number;
    /**
     * Without a backlog (the last claim was not full), the next batch is claimed when
     * the one in flight has committed, or once it has been in flight this long: the
     * rows due meanwhile gather into one batch instead of many small ones interleaved
     * on a busy Postgres (src/worker/redis-mode.ts). 0: at once, up to `concurrency`.
     */
    overlapAfterMs: number;
    /**
     * How long a claim is held before another worker may take it over. The worker's
     * transactions are bounded by it (src/worker/transaction.ts): idle in a transaction
     * for half of it, a lock waited for a quarter of it.
     */
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
    /**
     * Synthetic escalations a starting worker executes on copies of the tables before
     * its first claim (src/worker/warm-up.ts); 0: none.
     */
    warmUp: number;
    /** Port of the worker's /metrics endpoint (on http.host); 0 disables it. */
    metricsPort: number;
  };
  /** Notifications (issue 11): where links point, how they are signed, the providers, the notifier. */
  notify: {
    /** The base URL people reach the API at: incident URLs and action links start with it. */
    publicUrl: string;
    /** Secrets that sign action links: the first signs, every one verifies (rotation: prepend a new one). Empty: no links. */
    linkKeys: string[];
    /** How long an action link works. */
    linkTtlMs: number;
    /** Outgoing webhooks are signed with it (Klaxon-Signature); empty: webhooks are not sent (the next method is tried). */
    webhookSecret: string;
    /** smtp:// or smtps:// URL; empty: e-mail is not sent (such notifications fail, and the next method is tried). */
    smtpUrl: string;
    emailFrom: string;
    /** A Twilio-compatible REST API; empty account: SMS and voice are not sent. */
    twilio: { baseUrl: string; accountSid: string; authToken: string; fromNumber: string };
    /** Slack's Web API; empty bot token: Slack is not sent. The signing secret checks interactions. */
    slack: { apiUrl: string; botToken: string; signingSecret: string };
    /** At most one escalation notification per contact method per incident in this window. */
    throttleWindowMs: number;
    /** Per destination (address, number): more than this many a minute are folded into a digest. */
    destinationPerMinute: number;
    /** Per provider (channel), each notifier sends at most this many a second. */
    providerPerSecond: number;
  };
  notifier: {
    /** Notifications claimed at once. */
    batchSize: number;
    /** Sends in flight at once per notifier. */
    concurrency: number;
    /** How long a claim is held before another notifier may take it over. */
    leaseMs: number;
    /** The longest sleep without a NOTIFY (bounds a lost wake-up). */
    maxSleepMs: number;
    /** Port of the notifier's /metrics endpoint (on http.host); 0 disables it. */
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

// The kinds of setting, each with how a wrong value is explained --------------------------

interface Kind {
  schema: TSchema;
  /** What a refused value is told, whatever rule it broke. */
  explain: (value: unknown) => string;
}

const shown = (value: unknown) => JSON.stringify(value) ?? String(value);

function duration() {
  return {
    schema: Type.String({ format: 'duration' }),
    explain: (value) => {
      if (typeof value !== 'string' || value.trim() === '') return 'must be a non-empty string';
      try {
        parseDuration(value);
        return `${shown(value)} is not a duration`;
      } catch (error) {
        return (error as Error).message;
      }
    },
  } satisfies Kind;
}

type BoundsName = keyof typeof DURATION_BOUNDS;

/** A duration within one of DURATION_BOUNDS (src/domain/durations.ts), checked by the format of the same name. */
function boundedDuration(name: BoundsName) {
  return {
    schema: Type.String({ format: `duration:${name}` }),
    explain: (value) => {
      if (typeof value !== 'string' || value.trim() === '') return 'must be a non-empty string';
      return boundedDurationProblem(value, name) ?? `${shown(value)} is not a duration`;
    },
  } satisfies Kind;
}

/** Why `value` is not a duration within DURATION_BOUNDS[name], in words; undefined when it is one. */
function boundedDurationProblem(value: unknown, name: BoundsName): string | undefined {
  if (typeof value !== 'string') return `${shown(value)} is not a duration`;
  const checked = durationWithin(value, DURATION_BOUNDS[name]);
  if (checked.ok) return undefined;
  // Out of bounds says "must be between ..."; a parse error names the value itself.
  return checked.message.startsWith('must ') ? `${shown(value)} ${checked.message}` : checked.message;
}

function count(max: number, min = 1) {
  return {
    schema: Type.Integer({ minimum: min, maximum: max }),
    explain: (value: unknown) => `${shown(String(value))} must be a whole number from ${min} to ${max}`,
  } satisfies Kind;
}

const port = {
  schema: Type.Integer({ minimum: 0, maximum: 65535 }),
  explain: (value: unknown) => `${shown(String(value))} is not a port (0-65535)`,
} satisfies Kind;

/** Free text (a secret, an id, a name); empty means "not set" where the setting says so. */
const text = { schema: Type.String({ maxLength: 4096 }), explain: () => 'must be a string of at most 4096 characters' } satisfies Kind;

/** Secrets that sign links: each at least 32 characters (guessable keys forge acknowledgements). */
const signingKeys = {
  schema: Type.Array(Type.String({ minLength: 32, maxLength: 512 }), { maxItems: 10 }),
  explain: () => 'must be a list of at most 10 secrets, each of 32 to 512 characters',
} satisfies Kind;

function oneOf<const V extends readonly string[]>(values: V) {
  return {
    schema: Type.Unsafe<V[number]>({ type: 'string', enum: [...values] }),
    explain: (value: unknown) => `${shown(String(value))} is not one of ${values.join(', ')}`,
  } satisfies Kind;
}

function url(protocols: readonly string[]) {
  return {
    schema: Type.String({ format: `url:${protocols.join(',')}` }),
    explain: (value) => {
      if (value === undefined || value === '') return `is required (a ${protocols[0]}// URL)`;
      if (typeof value !== 'string' || parseOrUndefined(() => new URL(value)) === undefined) return 'is not a URL';
      return `must start with ${protocols.join(' or ')}//`;
    },
  } satisfies Kind;
}

/** The level delays of the default timetable: 1 to 20, each a duration within its bounds. */
const levelDelays = {
  schema: Type.Array(Type.String({ format: 'duration:configuredLevelDelay' }), { minItems: 1, maxItems: 20 }),
  explain: (value: unknown) => {
    if (!Array.isArray(value) || value.length === 0) return 'must list at least one level delay, e.g. 5m,15m,60m';
    if (value.length > 20) return 'at most 20 levels';
    for (const [index, item] of value.entries()) {
      const message = boundedDurationProblem(item, 'configuredLevelDelay');
      if (message) return `level ${index + 1}: ${message}`;
    }
    return 'is not a list of level delays';
  },
} satisfies Kind;

// Every setting, once ------------------------------------------------------------------------

interface Setting {
  /** Where it is in config/default.json and CONFIG_FILE (dotted); undefined: only the environment. */
  file?: string;
  env: string;
  kind: Kind;
  /** A list the environment gives comma-separated. */
  list?: true;
}

const SETTINGS = {
  host: { file: 'http.host', env: 'HOST', kind: { schema: Type.String({ minLength: 1 }), explain: () => 'must be a non-empty string' } },
  port: { file: 'http.port', env: 'PORT', kind: port },
  bodyLimit: { file: 'http.bodyLimit', env: 'HTTP_BODY_LIMIT', kind: { schema: Type.String({ format: 'size' }), explain: (value) => sizeProblem(value) } },
  maxInFlight: { file: 'http.maxInFlight', env: 'HTTP_MAX_IN_FLIGHT', kind: count(100_000) },
  keepAliveTimeout: { file: 'http.keepAliveTimeout', env: 'HTTP_KEEP_ALIVE_TIMEOUT', kind: boundedDuration('keepAliveTimeout') },
  apiWarmUp: { file: 'http.warmUp', env: 'API_WARM_UP', kind: count(10_000, 0) },
  databaseUrl: { env: 'DATABASE_URL', kind: url(['postgres:', 'postgresql:']) },
  databaseRole: {
    file: 'database.role',
    env: 'DATABASE_ROLE',
    // A plain Postgres role name (it goes into the startup options unquoted), or empty.
    kind: {
      schema: Type.String({ pattern: '^([A-Za-z_][A-Za-z0-9_$]{0,62})?$' }),
      explain: () => 'must be empty or a role name of letters, digits, _ and $ (at most 63, not starting with a digit)',
    },
  },
  redisUrl: { env: 'REDIS_URL', kind: url(['redis:', 'rediss:']) },
  redisKeyPrefix: {
    file: 'redis.keyPrefix',
    env: 'REDIS_KEY_PREFIX',
    kind: { schema: Type.String({ pattern: '^[A-Za-z0-9:_{}.-]*$' }), explain: () => 'may only contain letters, digits and : _ { } . -' },
  },
  redisCommandTimeout: { file: 'redis.commandTimeout', env: 'REDIS_COMMAND_TIMEOUT', kind: duration() },
  logLevel: { file: 'log.level', env: 'LOG_LEVEL', kind: oneOf(LOG_LEVELS) },
  logFormat: { file: 'log.format', env: 'LOG_FORMAT', kind: oneOf(['auto', 'json', 'pretty'] as const) },
  levels: { file: 'escalation.levels', env: 'ESCALATION_LEVELS', kind: levelDelays, list: true },
  clockSyncInterval: { file: 'clock.syncInterval', env: 'CLOCK_SYNC_INTERVAL', kind: duration() },
  ratePerMinute: { file: 'rateLimit.perMinute', env: 'RATE_LIMIT_PER_MINUTE', kind: count(1_000_000) },
  rateBurst: { file: 'rateLimit.burst', env: 'RATE_LIMIT_BURST', kind: count(1_000_000) },
  addressPerMinute: { file: 'rateLimit.addressPerMinute', env: 'RATE_LIMIT_ADDRESS_PER_MINUTE', kind: count(1_000_000) },
  addressBurst: { file: 'rateLimit.addressBurst', env: 'RATE_LIMIT_ADDRESS_BURST', kind: count(1_000_000) },
  // The bound of a key's own rate (integration_keys' CHECK).
  intakeRatePerMinute: { file: 'intake.ratePerMinute', env: 'INTAKE_RATE_PER_MINUTE', kind: count(100_000) },
  intakeRateBurst: { file: 'intake.rateBurst', env: 'INTAKE_RATE_BURST', kind: count(100_000) },
  intakeStormPerMinute: { file: 'intake.stormPerMinute', env: 'INTAKE_STORM_PER_MINUTE', kind: count(1_000_000) },
  batchSize: { file: 'worker.batchSize', env: 'WORKER_BATCH_SIZE', kind: count(10_000) },
  concurrency: { file: 'worker.concurrency', env: 'WORKER_CONCURRENCY', kind: count(16) },
  overlapAfter: { file: 'worker.overlapAfter', env: 'WORKER_OVERLAP_AFTER', kind: boundedDuration('overlapAfter') },
  lease: { file: 'worker.lease', env: 'WORKER_LEASE', kind: duration() },
  maxSleep: { file: 'worker.maxSleep', env: 'WORKER_MAX_SLEEP', kind: duration() },
  degradedPoll: { file: 'worker.degradedPoll', env: 'WORKER_DEGRADED_POLL', kind: duration() },
  reconcileInterval: { file: 'worker.reconcileInterval', env: 'RECONCILE_INTERVAL', kind: duration() },
  reconcilePageSize: { file: 'worker.reconcilePageSize', env: 'RECONCILE_PAGE_SIZE', kind: count(100_000) },
  slowTick: { file: 'worker.slowTick', env: 'WORKER_SLOW_TICK', kind: duration() },
  warmUp: { file: 'worker.warmUp', env: 'WORKER_WARM_UP', kind: count(10_000, 0) },
  metricsPort: { file: 'worker.metricsPort', env: 'WORKER_METRICS_PORT', kind: port },
  publicUrl: { file: 'notify.publicUrl', env: 'PUBLIC_URL', kind: url(['https:', 'http:']) },
  linkKeys: { file: 'notify.linkKeys', env: 'NOTIFY_LINK_KEYS', kind: signingKeys, list: true },
  linkTtl: { file: 'notify.linkTtl', env: 'NOTIFY_LINK_TTL', kind: duration() },
  webhookSecret: { file: 'notify.webhookSecret', env: 'NOTIFY_WEBHOOK_SECRET', kind: text },
  smtpUrl: { file: 'notify.smtpUrl', env: 'SMTP_URL', kind: text },
  emailFrom: { file: 'notify.emailFrom', env: 'NOTIFY_EMAIL_FROM', kind: text },
  twilioBaseUrl: { file: 'notify.twilio.baseUrl', env: 'TWILIO_BASE_URL', kind: url(['https:', 'http:']) },
  twilioAccountSid: { file: 'notify.twilio.accountSid', env: 'TWILIO_ACCOUNT_SID', kind: text },
  twilioAuthToken: { file: 'notify.twilio.authToken', env: 'TWILIO_AUTH_TOKEN', kind: text },
  twilioFrom: { file: 'notify.twilio.from', env: 'TWILIO_FROM', kind: text },
  slackApiUrl: { file: 'notify.slack.apiUrl', env: 'SLACK_API_URL', kind: url(['https:', 'http:']) },
  slackBotToken: { file: 'notify.slack.botToken', env: 'SLACK_BOT_TOKEN', kind: text },
  slackSigningSecret: { file: 'notify.slack.signingSecret', env: 'SLACK_SIGNING_SECRET', kind: text },
  throttleWindow: { file: 'notify.throttleWindow', env: 'NOTIFY_THROTTLE_WINDOW', kind: duration() },
  destinationPerMinute: { file: 'notify.destinationPerMinute', env: 'NOTIFY_DESTINATION_PER_MINUTE', kind: count(100_000) },
  providerPerSecond: { file: 'notify.providerPerSecond', env: 'NOTIFY_PROVIDER_PER_SECOND', kind: count(100_000) },
  notifierBatchSize: { file: 'notifier.batchSize', env: 'NOTIFIER_BATCH_SIZE', kind: count(10_000) },
  notifierConcurrency: { file: 'notifier.concurrency', env: 'NOTIFIER_CONCURRENCY', kind: count(1_000) },
  notifierLease: { file: 'notifier.lease', env: 'NOTIFIER_LEASE', kind: duration() },
  notifierMaxSleep: { file: 'notifier.maxSleep', env: 'NOTIFIER_MAX_SLEEP', kind: duration() },
  notifierMetricsPort: { file: 'notifier.metricsPort', env: 'NOTIFIER_METRICS_PORT', kind: port },
} satisfies Record<string, Setting>;

type Name = keyof typeof SETTINGS;

/** Every environment variable a setting is read from (the README's Configuration table must name each: test/docs/readme.test.ts). */
export const SETTING_VARIABLES: readonly string[] = Object.values(SETTINGS).map((setting) => setting.env);
type Values = { [K in Name]: Static<(typeof SETTINGS)[K]['kind']['schema']> };

function sizeProblem(value: unknown): string {
  try {
    parseSize(String(value));
    return `${shown(value)} is not a size`;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The one schema every configuration is validated with, built from SETTINGS. */
const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
ajv.addFormat('duration', { type: 'string', validate: (text) => parseOrUndefined(() => parseDuration(text)) !== undefined });
ajv.addFormat('size', { type: 'string', validate: (text) => parseOrUndefined(() => parseSize(text)) !== undefined });
for (const name of Object.keys(DURATION_BOUNDS) as BoundsName[]) {
  ajv.addFormat(`duration:${name}`, { type: 'string', validate: (text) => durationWithin(text, DURATION_BOUNDS[name]).ok });
}
for (const protocols of [
  ['postgres:', 'postgresql:'],
  ['redis:', 'rediss:'],
  ['https:', 'http:'],
]) {
  ajv.addFormat(`url:${protocols.join(',')}`, { type: 'string', validate: (text) => protocols.includes(parseOrUndefined(() => new URL(text).protocol) ?? '') });
}
const validateSettings = ajv.compile(
  Type.Object(Object.fromEntries(Object.entries(SETTINGS).map(([name, setting]) => [name, setting.kind.schema])), { additionalProperties: false }),
);

function parseOrUndefined<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

const DEFAULT_FILE = fileURLToPath(new URL('../../config/default.json', import.meta.url));

export interface LoadOptions {
  /** Processes that never touch Redis (migrate) may run without REDIS_URL. */
  requireRedis?: boolean;
}

export function loadConfig(env: Env = process.env, { requireRedis = true }: LoadOptions = {}): Config {
  const problems: string[] = [];
  const file = readJson(DEFAULT_FILE, problems);
  if (env.CONFIG_FILE) mergeInto(file, readJson(env.CONFIG_FILE, problems));
  problems.push(...unknownKeys(file));

  // Each setting's value and where it came from: the environment wins over the files.
  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const [name, setting] of Object.entries(SETTINGS) as [Name, Setting][]) {
    const given = env[setting.env];
    if (given !== undefined) {
      values[name] = fromEnvironment(given, setting);
      sources[name] = setting.env;
    } else if (setting.file !== undefined) {
      values[name] = valueAt(file, setting.file);
      sources[name] = setting.file;
    } else {
      sources[name] = setting.env;
    }
  }
  if (!requireRedis && values.redisUrl === undefined) values.redisUrl = 'redis://unused';

  if (!validateSettings(values)) problems.push(...explain(validateSettings.errors, values, sources));
  if (problems.length) throw new ConfigError(problems);
  return toConfig(values as Values, env, requireRedis);
}

/** One line per setting that broke a rule (a setting breaking several rules says so once). */
function explain(errors: ErrorObject[] | null | undefined, values: Record<string, unknown>, sources: Record<string, string>): string[] {
  const names = new Set<string>();
  for (const error of errors ?? []) {
    const name = error.instancePath.split('/')[1] ?? (error.params as { missingProperty?: string }).missingProperty;
    if (name) names.add(name);
  }
  return [...names].map((name) => `${sources[name] ?? name}: ${SETTINGS[name as Name].kind.explain(values[name])}`);
}

/** A value from the environment, as text, typed as its schema wants: digits become a number, a list splits on commas. */
function fromEnvironment(text: string, setting: Setting): unknown {
  if (setting.list) return text.trim() === '' ? [] : text.split(',').map((item) => item.trim());
  const type = (setting.kind.schema as { type?: unknown }).type;
  if (type === 'integer') return /^\s*\d{1,15}\s*$/.test(text) ? Number(text) : text;
  return text.trim() === '' && setting.env !== 'DATABASE_ROLE' && setting.env !== 'REDIS_KEY_PREFIX' ? undefined : text;
}

function toConfig(v: Values, env: Env, requireRedis: boolean): Config {
  return {
    http: {
      host: v.host,
      port: v.port,
      bodyLimitBytes: parseSize(v.bodyLimit),
      maxInFlight: v.maxInFlight,
      keepAliveTimeoutMs: parseDuration(v.keepAliveTimeout),
      warmUp: v.apiWarmUp,
    },
    databaseUrl: v.databaseUrl,
    database: { role: v.databaseRole },
    redisUrl: requireRedis || env.REDIS_URL ? v.redisUrl : '',
    redis: { keyPrefix: v.redisKeyPrefix, commandTimeoutMs: parseDuration(v.redisCommandTimeout) },
    log: { level: v.logLevel, format: v.logFormat === 'auto' ? (env.NODE_ENV === 'production' ? 'json' : 'pretty') : v.logFormat },
    escalation: { levelDelaysMs: v.levels.map(parseDuration) },
    clock: { syncIntervalMs: parseDuration(v.clockSyncInterval) },
    rateLimit: { ratePerMinute: v.ratePerMinute, burst: v.rateBurst },
    addressRateLimit: { ratePerMinute: v.addressPerMinute, burst: v.addressBurst },
    intakeRateLimit: { ratePerMinute: v.intakeRatePerMinute, burst: v.intakeRateBurst },
    intakeStormPerMinute: v.intakeStormPerMinute,
    worker: {
      batchSize: v.batchSize,
      concurrency: v.concurrency,
      overlapAfterMs: parseDuration(v.overlapAfter),
      leaseMs: parseDuration(v.lease),
      maxSleepMs: parseDuration(v.maxSleep),
      degradedPollMs: parseDuration(v.degradedPoll),
      reconcileIntervalMs: parseDuration(v.reconcileInterval),
      reconcilePageSize: v.reconcilePageSize,
      slowTickMs: parseDuration(v.slowTick),
      warmUp: v.warmUp,
      metricsPort: v.metricsPort,
    },
    notify: {
      publicUrl: v.publicUrl.replace(/\/+$/, ''),
      linkKeys: v.linkKeys.filter((key) => key !== ''),
      linkTtlMs: parseDuration(v.linkTtl),
      webhookSecret: v.webhookSecret,
      smtpUrl: v.smtpUrl,
      emailFrom: v.emailFrom,
      twilio: { baseUrl: v.twilioBaseUrl.replace(/\/+$/, ''), accountSid: v.twilioAccountSid, authToken: v.twilioAuthToken, fromNumber: v.twilioFrom },
      slack: { apiUrl: v.slackApiUrl.replace(/\/+$/, ''), botToken: v.slackBotToken, signingSecret: v.slackSigningSecret },
      throttleWindowMs: parseDuration(v.throttleWindow),
      destinationPerMinute: v.destinationPerMinute,
      providerPerSecond: v.providerPerSecond,
    },
    notifier: {
      batchSize: v.notifierBatchSize,
      concurrency: v.notifierConcurrency,
      leaseMs: parseDuration(v.notifierLease),
      maxSleepMs: parseDuration(v.notifierMaxSleep),
      metricsPort: v.notifierMetricsPort,
    },
  };
}

// The files -----------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function readJson(file: string, problems: string[]): Json {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (isPlainObject(parsed)) return parsed;
    problems.push(`${file}: must hold a JSON object`);
  } catch (error) {
    problems.push(`${file}: ${(error as Error).message}`);
  }
  return {};
}

function mergeInto(target: Json, source: Json): void {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key];
    if (isPlainObject(current) && isPlainObject(value)) mergeInto(current, value);
    else target[key] = value;
  }
}

function valueAt(file: Json, path: string): unknown {
  let node: unknown = file;
  for (const key of path.split('.')) node = isPlainObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
  return node;
}

/** Keys in a file that name no setting (a typo would otherwise be silently ignored). */
function unknownKeys(file: Json, prefix = ''): string[] {
  const known = new Set((Object.values(SETTINGS) as Setting[]).flatMap((setting) => (setting.file ? [setting.file] : [])));
  const problems: string[] = [];
  for (const [key, value] of Object.entries(file)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (known.has(path)) continue;
    if (isPlainObject(value) && [...known].some((setting) => setting.startsWith(`${path}.`))) problems.push(...unknownKeys(value, path));
    else problems.push(`${path}: is not a known setting`);
  }
  return problems;
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
