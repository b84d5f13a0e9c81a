/** What the Redis index holds, for GET /stats and `klaxon stats`. Throws when Redis does not answer. */
import type { RedisClient } from './client.ts';
import type { RedisKeys } from './keys.ts';

export interface IndexStats {
  pending: number;
  in_flight: number;
  /** False after a FLUSHALL or a restart that lost the data, until a worker rebuilds it. */
  complete: boolean;
}

export async function readIndexStats(redis: RedisClient, keys: RedisKeys): Promise<IndexStats> {
  const [pending, inFlight, complete] = await Promise.all([redis.zCard(keys.pending), redis.zCard(keys.inflight), redis.exists(keys.indexMarker)]);
  return { pending, in_flight: inFlight, complete: complete === 1 };
}
