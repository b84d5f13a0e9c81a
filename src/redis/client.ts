/**
 * The Redis connection. Redis is only an index (Postgres holds the truth), so the
 * client is set up to fail fast rather than hang: no offline queue, a deadline on
 * every call (REDIS_COMMAND_TIMEOUT, applied by redisCall; see ./call-deadline.ts),
 * a bounded queue of commands, and reconnection in the background with capped,
 * jittered backoff.
 */
import { ClientOfflineError, createClient } from 'redis';
import { backoffMs, withDeadline } from '../clock/deadline.ts';
import { EpisodeLog } from '../log/episode.ts';
import type { Logger } from '../log/logger.ts';
import { CallDeadline } from './call-deadline.ts';

export type RedisClient = ReturnType<typeof createClient>;

export interface RedisOptions {
  url: string;
  /** REDIS_COMMAND_TIMEOUT: the longest any call on this client waits. */
  commandTimeoutMs: number;
  logger: Logger;
  name: string;
}

/**
 * Commands sent and not yet answered, at most. A Redis that hangs with its connection
 * open answers nothing while calls keep being sent (./call-deadline.ts); past this
 * many, calls fail at once instead of growing the process' memory for as long as it
 * hangs. Far above what a healthy Redis ever has waiting (an API request has one or
 * two calls in flight; a worker a few batches).
 */
const MAX_QUEUED_COMMANDS = 10_000;

/** Every client's deadline, set where the client is made: redisCall finds it here. */
const deadlines = new WeakMap<RedisClient, CallDeadline>();

export function createRedis({ url, commandTimeoutMs, logger, name }: RedisOptions): RedisClient {
  const client = createClient({
    url,
    name,
    disableOfflineQueue: true,
    commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
    // No commandOptions.timeout: the deadline is redisCall's, over the whole round trip.
    // node-redis' own made an AbortSignal.timeout per command whose timer fired after
    // the command had long been answered and built a DOMException each time (about 2 %
    // of the API's CPU at 500 alerts a second, bench --intake); and the one thing it
    // added, dropping a command not yet written, is what ./call-deadline.ts does not
    // want: what was sent still lands when a hung Redis resumes.
    socket: {
      connectTimeout: 2_000,
      reconnectStrategy: (retries: number) => backoffMs(retries + 1, { baseMs: 50, capMs: 2_000 }),
    },
  });
  const deadline = new CallDeadline(commandTimeoutMs, logger);
  deadlines.set(client, deadline);
  // Every failed reconnection emits an error: one line when the outage starts, one
  // when the client has been connected for a whole interval, nothing per retry.
  const unreachable = new EpisodeLog(
    logger,
    { level: 'warn', started: 'Redis is unreachable; Postgres stays the source of truth', ended: 'Redis is reachable again' },
    1_000,
    () => !client.isReady,
  );
  client.on('error', (error: Error) => unreachable.record({ error }));
  client.on('ready', () => deadline.reconnected());
  return client;
}

/**
 * Runs one Redis call (a command, a script, a MULTI, or a few pipelined commands)
 * under the client's deadline. Every Redis call the processes make goes through here
 * (scripts through runScript, which uses it), so that a hung Redis costs a caller at
 * most REDIS_COMMAND_TIMEOUT. Rejects when Redis fails, misses the deadline, or has
 * missed it and not answered since.
 */
export function redisCall<T>(redis: RedisClient, call: (redis: RedisClient) => Promise<T>): Promise<T> {
  const deadline = deadlines.get(redis);
  if (!deadline) return Promise.reject(new Error('this Redis client was not made by createRedis, so its calls have no deadline'));
  // Not connected: fail now. node-redis refuses a single command then (no offline
  // queue) but queues a MULTI until the reconnection succeeds or fails, which may
  // take longer than the deadline.
  if (!redis.isReady) return Promise.reject(new ClientOfflineError());
  return deadline.run(() => call(redis));
}

/** The deadline of the client's calls (REDIS_COMMAND_TIMEOUT). */
export function commandDeadlineMs(redis: RedisClient): number | undefined {
  return deadlines.get(redis)?.ms;
}

/**
 * A second connection with the same settings and deadline (a pub/sub subscriber,
 * which cannot send other commands). Its errors are not logged: its twin logs the
 * outage.
 */
export function duplicateRedis(redis: RedisClient): RedisClient {
  const twin = redis.duplicate();
  const deadline = deadlines.get(redis);
  if (deadline) deadlines.set(twin, deadline);
  twin.on('error', () => undefined);
  return twin;
}

/**
 * Starts connecting without waiting: a process must come up (and serve from
 * Postgres) even while Redis is down. The client keeps retrying on its own.
 */
export function connectInBackground(client: RedisClient, logger: Logger): void {
  client.connect().catch((error: unknown) => logger.error('Redis client gave up connecting', { error }));
}

/** Closes gracefully (pending replies first), but no longer than the deadline: a hung Redis never answers QUIT. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (!client.isOpen) return;
  const deadlineMs = commandDeadlineMs(client);
  try {
    const closing = client.close();
    await (deadlineMs === undefined ? closing : withDeadline(closing, deadlineMs));
  } catch {
    client.destroy();
  }
}
