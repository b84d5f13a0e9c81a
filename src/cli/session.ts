/**
 * What a CLI command runs with: the configuration (loaded as the other processes load
 * it), a logger on stderr, a small Postgres pool acting as the application role, the
 * clock corrected against Postgres, and, for the commands that touch the Redis index,
 * a Redis client when Redis answers. Everything is opened only when a command needs
 * it (`klaxon token generate` needs neither a database nor a configuration) and
 * closed before the process exits, so the process ends as soon as the work is done.
 */
import os from 'node:os';
import type pg from 'pg';
import { PostgresClock } from '../clock/postgres-clock.ts';
import type { CommandDeps } from '../commands/deps.ts';
import { type Config, loadConfig, redactUrl } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import type { RedisClient } from '../redis/client.ts';
import { type RedisKeys, redisKeys } from '../redis/keys.ts';
import { PendingIndex } from '../engine/index/pending.ts';
import { printable, printableLines } from './output.ts';

/**
 * What a command needs before it runs: nothing (it loads what it needs itself, if
 * anything), Postgres, or Postgres and (best effort) Redis.
 */
export type Needs = 'nothing' | 'database' | 'database+redis';

// pg, winston and above all redis are loaded only by the commands that use them:
// they cost more start-up time than the rest of the CLI (help, usage errors and
// `token generate` need none; only ack, resolve and stats need redis).

export interface Session {
  /** Where command output goes (data on stdout; notes, details and logs on stderr). */
  out: (text: string) => void;
  err: (text: string) => void;
  /** `cli:<os user>`: the actor of every change the CLI makes. */
  actor: string;
  /**
   * Connects what the command declared it needs (once; later calls return the same).
   * Commands call it after checking their arguments, so a usage error never waits for
   * a database, nor needs one.
   */
  connect(): Promise<Connected>;
  /** Closes whatever connect() opened. */
  close(): Promise<void>;
}

export interface Connected {
  config: Config;
  logger: Logger;
  pool: pg.Pool;
  clock: PostgresClock;
  deps: CommandDeps;
  keys: RedisKeys;
  /** Null when REDIS_URL is not set or Redis did not answer. */
  redis: RedisClient | null;
  /** Why redis is null. */
  redisProblem: string | null;
}

/** How long the CLI waits for Redis before going on without it. */
const REDIS_CONNECT_WAIT_MS = 1_500;

export function cliActor(): string {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers).
    user = process.env.USER || process.env.LOGNAME || `uid-${process.getuid?.() ?? 'unknown'}`;
  }
  return `cli:${user}`;
}

/**
 * Logs go to stderr only (winston's Console writes to stdout unless told otherwise):
 * stdout carries what a script reads, such as a token. The level is warn unless
 * LOG_LEVEL asks for another, so the output stays clean.
 *
 * They go to the terminal, past main.ts's guard, and quote what Postgres and Redis
 * said: every string in a line is made printable first, before the logger's own
 * formats (which serialise errors, and colour the level in the pretty format).
 */
async function cliLogger(config: Config, level = process.env.LOG_LEVEL ? config.log.level : 'warn'): Promise<Logger> {
  const [{ default: winston }, { createLogger }] = await Promise.all([import('winston'), import('../log/logger.ts')]);
  const logger = createLogger({
    level,
    format: config.log.format,
    service: 'cli',
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] })],
  });
  const printableInfo = winston.format((info) => {
    for (const [key, value] of Object.entries(info)) info[key] = printableLogValue(value);
    return info;
  });
  logger.format = winston.format.combine(printableInfo(), logger.format);
  return logger;
}

/**
 * A logged value with its strings made printable, through arrays and plain objects (as
 * deep as the logger's token redaction goes); an error becomes the fields the logger
 * would show of it, its stack kept on several lines.
 */
function printableLogValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return printable(value);
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    const fields = { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
    return { ...(printableLogValue(fields, depth) as object), stack: value.stack && printableLines(value.stack) };
  }
  if (depth > 6 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => printableLogValue(item, depth + 1));
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value; // a Date, a Buffer: not text
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [printable(key), printableLogValue(inner, depth + 1)]));
}

/** The configuration and a logger, for a command that connects by itself (migrate). */
export async function loadCliConfig(): Promise<{ config: Config; logger: Logger }> {
  const config = loadConfig(process.env, { requireRedis: false });
  return { config, logger: await cliLogger(config) };
}

/** Loads the configuration (throws ConfigError) and connects what `needs` names. */
async function open(needs: Needs): Promise<Connected & { release(): Promise<void> }> {
  const { config, logger } = await loadCliConfig();
  const { createPool } = await import('../db/pool.ts');
  const pool = createPool({
    databaseUrl: config.databaseUrl,
    applicationName: 'klaxon-cli',
    role: config.database.role,
    max: 2,
    logger,
  });
  const keys = redisKeys(config.redis.keyPrefix);
  let redis: RedisClient | null = null;
  let redisProblem: string | null = null;
  let closeRedis = (_client: RedisClient) => Promise.resolve();
  try {
    const clock = new PostgresClock(pool, logger, config.clock.syncIntervalMs);
    // One measurement, no background re-sync: a CLI command lasts milliseconds.
    await clock.sync();
    if (needs === 'database+redis') {
      if (!config.redisUrl) {
        redisProblem = 'REDIS_URL is not set';
      } else {
        const client = await import('../redis/client.ts');
        closeRedis = client.closeRedis;
        // A quiet logger: when Redis is down, the one note the command prints says so.
        const candidate = client.createRedis({
          url: config.redisUrl,
          commandTimeoutMs: config.redis.commandTimeoutMs,
          logger: await cliLogger(config, 'error'),
          name: 'klaxon-cli',
        });
        const problem = await connectOnce(candidate, REDIS_CONNECT_WAIT_MS);
        if (problem === null) redis = candidate;
        else {
          candidate.destroy();
          redisProblem = `Redis at ${redactUrl(config.redisUrl)} did not answer (${problem})`;
        }
      }
    }
    const connected: Connected = {
      config,
      logger,
      pool,
      clock,
      keys,
      redis,
      redisProblem,
      deps: {
        pool,
        // Without Redis, index changes are skipped (the command prints one note); the reconciler repairs it.
        pendingIndex: new PendingIndex(redis, keys, logger),
        clock,
        timetable: { levelDelaysMs: config.escalation.levelDelaysMs },
        logger,
      },
    };
    const release = async () => {
      if (redis) await closeRedis(redis);
      await pool.end();
    };
    return { ...connected, release };
  } catch (error) {
    if (redis) await closeRedis(redis);
    await pool.end();
    throw error;
  }
}

export function createSession(needs: Needs, out: (text: string) => void, err: (text: string) => void): Session {
  let opening: ReturnType<typeof open> | undefined;
  return {
    out,
    err,
    actor: cliActor(),
    connect() {
      if (needs === 'nothing') return Promise.reject(new Error('this command declared that it needs no database'));
      opening ??= open(needs);
      return opening;
    },
    async close() {
      const connected = await opening?.catch(() => undefined);
      opening = undefined;
      await connected?.release();
    },
  };
}

/**
 * Connects once, without the client's endless reconnecting: null when ready, else why
 * not (the first error, or a timeout).
 */
function connectOnce(client: RedisClient, waitMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const done = (problem: string | null) => {
      clearTimeout(timer);
      client.off('error', onError);
      resolve(problem);
    };
    const onError = (error: Error) => done(error.message || error.name);
    const timer = setTimeout(() => done(`no answer within ${waitMs} ms`), waitMs);
    client.on('error', onError);
    client.connect().then(
      () => done(null),
      (error: unknown) => done(error instanceof Error ? error.message : String(error)),
    );
  });
}
