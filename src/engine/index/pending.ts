/**
 * The API's side of the Redis index. After a Postgres transaction commits, the rows
 * it scheduled are added to the pending set (and sleeping workers are woken if one
 * is due sooner than they planned), the rows it cancelled are removed.
 *
 * If Redis is down or hung at that moment, the answer does not wait for it beyond the
 * command deadline. The failure is logged as an episode (not once per request) and
 * the change is owed: sent again, with backoff, until Redis takes it, and at once
 * when a later update goes through. Without this, a row committed while a worker was
 * rebuilding the index after an outage (its rebuild read that page before the commit;
 * the API's own connection was still down) stayed out of the index until the next
 * periodic rebuild, RECONCILE_INTERVAL later. A debt larger than MAX_OWED_IDS is
 * paid by deleting the index marker instead: the workers distrust the index and
 * rebuild it from Postgres.
 *
 * Re-sending is safe whatever happened meanwhile: removing an id that is no longer
 * pending is always right, and an id added after it was executed is claimed, found
 * settled in Postgres, and dropped. Without a client at all (the CLI when Redis is
 * not configured or does not answer; it says so once) changes are skipped silently:
 * the reconciler rebuilds the set from Postgres.
 */
import { type Backoff, backoffMs } from '../../clock/deadline.ts';
import { EpisodeLog } from '../../log/episode.ts';
import type { Logger } from '../../log/logger.ts';
import { type RedisClient, redisCall } from '../../redis/client.ts';
import type { RedisKeys } from '../../redis/keys.ts';

export interface IndexChange {
  add: { id: string; dueAt: Date }[];
  remove: string[];
}

/** Ids owed at most (about 1 MB): a long outage under load is paid with a rebuild instead. */
const MAX_OWED_IDS = 10_000;
/** Between attempts to pay what is owed while Redis does not take it. */
const RETRY_BACKOFF: Backoff = { baseMs: 250, capMs: 5_000 };

/** Index updates by id: the due time (ms) to add it at, or null to remove it; the latest wins. */
type Updates = Map<string, number | null>;

export class PendingIndex {
  private readonly failures: EpisodeLog;
  private owed: Updates = new Map();
  /** More was owed than MAX_OWED_IDS: the next payment also deletes the index marker. */
  private owedTooMuch = false;
  private paying = false;
  private failedPayments = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient | null,
    private readonly keys: RedisKeys,
    logger: Logger,
  ) {
    this.failures = new EpisodeLog(logger, {
      level: 'warn',
      started: 'could not update the Redis pending index; the reconciler will repair it',
      continuing: 'still could not update the Redis pending index',
      ended: 'the Redis pending index is updated again',
    });
  }

  /** Applies a committed change in one round trip (MULTI), within the deadline; throws on a Redis failure. */
  async apply(change: IndexChange): Promise<void> {
    if (!this.redis || (change.add.length === 0 && change.remove.length === 0)) return;
    await this.send(updatesOf(change), false);
  }

  /** Applies a committed change; never throws, and owes it on a failure (see the module comment). */
  async applyAfterCommit(change: IndexChange): Promise<boolean> {
    if (!this.redis) return false;
    try {
      await this.apply(change);
    } catch (error) {
      this.owe(updatesOf(change));
      this.failures.record({ error, added: change.add.map((item) => item.id), removed: change.remove });
      this.scheduleRetry();
      return false;
    }
    // Redis takes updates again: pay what is owed now, without holding this answer.
    if (this.owed.size > 0 || this.owedTooMuch) void this.payOwed();
    return true;
  }

  /** How many index updates are owed (for tests and operators' curiosity). */
  get owedCount(): number {
    return this.owed.size;
  }

  private async payOwed(): Promise<void> {
    if (this.paying || !this.redis) return;
    // A client closed for good (the process is stopping) will never take it.
    if (!this.redis.isOpen) {
      this.owed.clear();
      this.owedTooMuch = false;
      return;
    }
    this.paying = true;
    const paying = this.owed;
    const dropMarker = this.owedTooMuch;
    this.owed = new Map();
    this.owedTooMuch = false;
    try {
      await this.send(paying, dropMarker);
      this.failedPayments = 0;
    } catch (error) {
      // Back under whatever was owed meanwhile (newer, so it wins).
      const newer = this.owed;
      this.owed = paying;
      this.owedTooMuch ||= dropMarker;
      this.owe(newer);
      this.failures.record({ error, owed: this.owed.size });
    } finally {
      this.paying = false;
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || (this.owed.size === 0 && !this.owedTooMuch)) return;
    this.failedPayments += 1;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        void this.payOwed();
      },
      backoffMs(this.failedPayments, RETRY_BACKOFF),
    );
    // A process may stop with something owed: the workers' rebuilds cover it.
    this.retryTimer.unref();
  }

  private owe(updates: Updates): void {
    for (const [id, dueMs] of updates) {
      if (this.owed.size >= MAX_OWED_IDS && !this.owed.has(id)) {
        this.owedTooMuch = true;
        continue;
      }
      this.owed.set(id, dueMs);
    }
  }

  /** One MULTI: the removals, the additions (publishing the earliest, to wake sleeping workers), and the marker if asked. */
  private async send(updates: Updates, dropMarker: boolean): Promise<void> {
    const { redis, keys } = this;
    if (!redis) return;
    const remove: string[] = [];
    const add: { score: number; value: string }[] = [];
    for (const [id, dueMs] of updates) {
      if (dueMs === null) remove.push(id);
      else add.push({ score: dueMs, value: id });
    }
    await redisCall(redis, (client) => {
      const multi = client.multi();
      if (remove.length > 0) multi.zRem(keys.pending, remove);
      if (add.length > 0) {
        multi.zAdd(keys.pending, add);
        multi.publish(keys.wakeChannel, String(Math.min(...add.map((item) => item.score))));
      }
      // The workers' next claim sees the marker gone and rebuilds the index from Postgres.
      if (dropMarker) multi.del(keys.indexMarker);
      return multi.exec();
    });
  }
}

/** A change as updates by id: removals first, so that an id both removed and added is added. */
function updatesOf(change: IndexChange): Updates {
  const updates: Updates = new Map();
  for (const id of change.remove) updates.set(id, null);
  for (const item of change.add) updates.set(item.id, item.dueAt.getTime());
  return updates;
}
