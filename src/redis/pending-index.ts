/**
 * The sorted set of PENDING escalations. It is only an index: after a Postgres
 * transaction commits, the rows it scheduled are added and the rows it cancelled are
 * removed. If Redis is down at that moment, the change is logged and skipped; the
 * reconciler rebuilds the set from Postgres, so nothing is lost.
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
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
  ) {}

  async add(items: IndexChange['add']): Promise<void> {
    if (items.length === 0) return;
    await this.redis.zAdd(
      this.keys.pending,
      items.map((item) => ({ score: item.dueAt.getTime(), value: item.id })),
    );
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis.zRem(this.keys.pending, ids);
  }

  /** Applies a committed change; never throws (see the module comment). */
  async applyAfterCommit(change: IndexChange): Promise<boolean> {
    try {
      await Promise.all([this.add(change.add), this.remove(change.remove)]);
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
