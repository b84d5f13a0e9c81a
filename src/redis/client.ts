/**
 * The Redis connection. Redis is only an index (Postgres holds the truth), so the
 * client is set up to fail fast rather than hang: no offline queue, a per-command
 * timeout, and reconnection in the background with capped, jittered backoff.
 */
import { createClient } from 'redis';
import type { Logger } from '../log/logger.ts';

export type RedisClient = ReturnType<typeof createClient>;

export interface RedisOptions {
  url: string;
  commandTimeoutMs: number;
  logger: Logger;
  name: string;
}

export function createRedis({ url, commandTimeoutMs, logger, name }: RedisOptions): RedisClient {
  const client = createClient({
    url,
    name,
    disableOfflineQueue: true,
    commandOptions: { timeout: commandTimeoutMs },
    socket: {
      connectTimeout: 2_000,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000) * (0.5 + Math.random() / 2),
    },
  });
  // Log an outage once when it starts and once when it ends, not once per retry.
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) logger.warn('Redis is unreachable; Postgres stays the source of truth', { error });
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info('Redis is reachable again');
    down = false;
  });
  return client;
}

/**
 * Starts connecting without waiting: a process must come up (and serve from
 * Postgres) even while Redis is down. The client keeps retrying on its own.
 */
export function connectInBackground(client: RedisClient, logger: Logger): void {
  client.connect().catch((error: unknown) => logger.error('Redis client gave up connecting', { error }));
}

export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.isOpen) {
    try {
      await client.close();
    } catch {
      client.destroy();
    }
  }
}
