/**
 * The API's side of the Redis index. After a Postgres transaction commits, the rows
 * it scheduled are added to the pending set (and sleeping workers are woken if one
 * is due sooner than they planned), the rows it cancelled are removed. If Redis is
 * down at that moment, the change is logged and skipped: the reconciler rebuilds
 * the set from Postgres, so nothing is lost. Without a client at all (the CLI when
 * Redis is not configured or does not answer; it says so once) changes are skipped
 * silently, for the same reason.
 */
import type { Logger } from '../log/logger.ts';
import type { RedisClient } from './client.ts';
import type { RedisKeys } from './keys.ts';

export interface IndexChange {
  add: { id: string; dueAt: Date }[];
  remove: string[];
}

export class PendingIndex {
  constructor(
    private readonly redis: RedisClient | null,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
  ) {}

  /** Applies a committed change in one round trip (MULTI); throws on a Redis failure. */
  async apply(change: IndexChange): Promise<void> {
    if (!this.redis || (change.add.length === 0 && change.remove.length === 0)) return;
    const multi = this.redis.multi();
    if (change.remove.length > 0) multi.zRem(this.keys.pending, change.remove);
    if (change.add.length > 0) {
      multi.zAdd(
        this.keys.pending,
        change.add.map((item) => ({ score: item.dueAt.getTime(), value: item.id })),
      );
      const earliest = Math.min(...change.add.map((item) => item.dueAt.getTime()));
      multi.publish(this.keys.wakeChannel, String(earliest));
    }
    await multi.exec();
  }

  /** Applies a committed change; never throws (see the module comment). */
  async applyAfterCommit(change: IndexChange): Promise<boolean> {
    if (!this.redis) return false;
    try {
      await this.apply(change);
      return true;
    } catch (error) {
      this.logger.warn('could not update the Redis pending index; the reconciler will repair it', {
        error,
        added: change.add.map((item) => item.id),
        removed: change.remove,
      });
      return false;
    }
  }
}
