/**
 * The worker's view of the Redis index: claim due escalations, settle claims after
 * the Postgres transaction, and probe the server. Every call has the client's
 * deadline (redisCall), and every failure, a missed deadline included, throws
 * RedisUnavailableError, which sends the worker into degraded mode.
 */
import { type RedisClient, redisCall } from '../../redis/client.ts';
import type { RedisKeys } from '../../redis/keys.ts';
import { type LuaScript, runScript, scripts } from '../../redis/scripts.ts';

export class RedisUnavailableError extends Error {
  constructor(override readonly cause: unknown) {
    super(`Redis is unavailable: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'RedisUnavailableError';
  }
}

export interface Claim {
  /** Claimed ids with their due time (ms; 0 for a claim taken over from an expired lease). */
  claimed: { id: string; dueMs: number }[];
  /** The earliest pending due time, or null when nothing is pending. */
  nextDueMs: number | null;
  /** The earliest lease deadline of a claim in flight (anyone's), or null. */
  nextLeaseMs: number | null;
  /** The earlier of the two: when a worker with nothing in flight should look again. */
  nextWakeMs: number | null;
  /** False when the index marker is gone: Redis lost data and needs a rebuild. */
  indexComplete: boolean;
  /** When this claim's lease runs out (ms): from then on another worker may hold these ids. */
  leaseUntilMs: number;
}

export class RedisQueue {
  constructor(
    readonly redis: RedisClient,
    readonly keys: RedisKeys,
  ) {}

  /** One Redis call within the deadline; any failure becomes RedisUnavailableError. */
  call<T>(command: (redis: RedisClient) => Promise<T>): Promise<T> {
    return guard(() => redisCall(this.redis, command));
  }

  /** Runs a script within the deadline; any failure becomes RedisUnavailableError. */
  script(script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    return guard(() => runScript(this.redis, script, keys, args));
  }

  async claimDue(nowMs: number, limit: number, leaseMs: number): Promise<Claim> {
    const reply = (await this.script(scripts.claimDue, [this.keys.pending, this.keys.inflight, this.keys.indexMarker], [nowMs, limit, leaseMs])) as [
      string[],
      string,
      string,
      number,
    ];
    const [flat, nextDue, nextLease, marker] = reply;
    const claimed: Claim['claimed'] = [];
    for (let i = 0; i < flat.length; i += 2) claimed.push({ id: flat[i] as string, dueMs: Number(flat[i + 1]) });
    const nextDueMs = nextDue === '' ? null : Number(nextDue);
    const nextLeaseMs = nextLease === '' ? null : Number(nextLease);
    const candidates = [nextDueMs, nextLeaseMs].filter((ms): ms is number => ms !== null);
    return {
      claimed,
      nextDueMs,
      nextLeaseMs,
      nextWakeMs: candidates.length > 0 ? Math.min(...candidates) : null,
      indexComplete: marker === 1,
      leaseUntilMs: nowMs + leaseMs,
    };
  }

  /** Drops `done` from inflight and adds `add` to pending (waking workers), atomically. */
  async settle(done: string[], add: { id: string; dueAt: Date }[]): Promise<void> {
    if (done.length === 0 && add.length === 0) return;
    const args: (string | number)[] = [this.keys.wakeChannel, done.length, ...done];
    for (const item of add) args.push(item.dueAt.getTime(), item.id);
    await this.script(scripts.settle, [this.keys.pending, this.keys.inflight], args);
  }

  /**
   * Whether Redis serves commands, and its run id (it changes when Redis restarts, and
   * may have lost writes). PING first: a Redis still loading its data set answers INFO
   * but refuses everything the worker needs with LOADING.
   */
  async probe(): Promise<string> {
    await this.call((redis) => redis.ping());
    return this.runId();
  }

  /** The server's run id. */
  async runId(): Promise<string> {
    const info = await this.call((redis) => redis.info('server'));
    const match = /run_id:(\w+)/.exec(info);
    if (!match?.[1]) throw new RedisUnavailableError(new Error('INFO server has no run_id'));
    return match[1];
  }
}

/** Runs a Redis call; any failure becomes RedisUnavailableError. */
async function guard<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw error instanceof RedisUnavailableError ? error : new RedisUnavailableError(error);
  }
}
