/** What the Redis index holds, for GET /stats and `klaxon stats`. Throws when Redis does not answer within its deadline. */
import { type RedisClient, redisCall } from '../../redis/client.ts';
import type { RedisKeys } from '../../redis/keys.ts';

export interface IndexStats {
  pending: number;
  in_flight: number;
  /** False after a FLUSHALL or a restart that lost the data, until a worker rebuilds it. */
  complete: boolean;
}

export async function readIndexStats(redis: RedisClient, keys: RedisKeys): Promise<IndexStats> {
  const [pending, inFlight, complete] = await redisCall(redis, (client) =>
    Promise.all([client.zCard(keys.pending), client.zCard(keys.inflight), client.exists(keys.indexMarker)]),
  );
  return { pending, in_flight: inFlight, complete: complete === 1 };
}
