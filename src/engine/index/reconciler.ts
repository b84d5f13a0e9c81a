/**
 * Rebuilds the Redis index from Postgres, the source of truth (DESIGN.md,
 * invariant 1): adds every PENDING row (at its due time, unless a worker holds it
 * right now), then drops members whose rows are no longer PENDING. Both passes go
 * in keyset pages and yield between pages, so a million pending rows never stall
 * the worker or Redis. Quarantined rows (src/engine/quarantine.ts) are left out, and
 * dropped when found. At the end it sets the index marker that claimDue checks:
 * a FLUSHALL or a Redis that came back empty removes it, and the next claim notices.
 * A lock keeps several workers from rebuilding at once. Every Redis call has the
 * client's deadline: a Redis that hangs mid-rebuild fails the rebuild, it does not
 * stall it.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type pg from 'pg';
import type { Clock } from '../../clock/clock.ts';
import { run, sql } from '../../db/queries.ts';
import type { Logger } from '../../log/logger.ts';
import { scripts } from '../../redis/scripts.ts';
import { isUuid } from '../../domain/ids.ts';
import type { RedisQueue } from './queue.ts';

export interface ReconcileReport {
  reason: string;
  pendingRows: number;
  added: number;
  dropped: number;
  durationMs: number;
}

const LOCK_TTL_MS = 10 * 60_000;

export class Reconciler {
  constructor(
    private readonly pool: pg.Pool,
    private readonly queue: RedisQueue,
    private readonly logger: Logger,
    private readonly pageSize: number,
    /** The one time authority (DESIGN.md, invariant 5): the marker says when the index was complete by it. */
    private readonly clock: Clock,
  ) {}

  /**
   * Runs a full reconciliation; null when another process holds the lock. A suspect
   * rebuild (Redis lost data) first deletes the index marker, so every worker drains
   * Postgres until the marker is set again at the end.
   */
  async run(reason: string, { suspect = true }: { suspect?: boolean } = {}): Promise<ReconcileReport | null> {
    const { keys } = this.queue;
    const token = randomUUID();
    // Unknown until Redis says no: a SET that missed its deadline may still take the lock.
    let mayHoldLock = true;
    try {
      const locked = await this.queue.call((redis) =>
        redis.set(keys.reconcileLock, token, { condition: 'NX', expiration: { type: 'PX', value: LOCK_TTL_MS } }),
      );
      if (locked === null) {
        mayHoldLock = false;
        return null;
      }
      if (suspect) await this.queue.call((redis) => redis.del(keys.indexMarker));
      const startedAt = performance.now();
      const { pendingRows, added } = await this.indexPendingRows();
      const dropped = await this.dropSettledMembers();
      await this.queue.call((redis) => redis.set(keys.indexMarker, this.clock.now().toISOString()));
      const report = { reason, pendingRows, added, dropped, durationMs: Math.round(performance.now() - startedAt) };
      this.logger.info('reconciled the Redis index with Postgres', report);
      return report;
    } finally {
      // Also when taking the lock missed its deadline: a hung Redis may still take it
      // when it resumes, and the release, sent after it on the same connection, lands
      // after it (it deletes the lock only while our token holds it), instead of the
      // lock keeping every worker from rebuilding for LOCK_TTL_MS.
      if (mayHoldLock) await this.queue.script(scripts.releaseLock, [keys.reconcileLock], [token]).catch(() => undefined);
    }
  }

  private async indexPendingRows(): Promise<{ pendingRows: number; added: number }> {
    const { keys } = this.queue;
    let after: { scheduledAt: Date; id: string } | null = null;
    let pendingRows = 0;
    let added = 0;
    for (;;) {
      const rows: { id: string; scheduled_at: Date; due_at: Date }[] = await run(this.pool, sql('escalations-pending-page'), [
        after?.scheduledAt ?? null,
        after?.id ?? null,
        this.pageSize,
      ]);
      if (rows.length === 0) break;
      pendingRows += rows.length;
      // At its due time, or its retry time after a failed execution (src/engine/quarantine.ts).
      const args = rows.flatMap((row) => [row.due_at.getTime(), row.id]);
      added += Number(await this.queue.script(scripts.indexPending, [keys.pending, keys.inflight], args));
      const last = rows.at(-1) as { id: string; scheduled_at: Date; due_at: Date };
      after = { scheduledAt: last.scheduled_at, id: last.id };
      if (rows.length < this.pageSize) break;
      await yieldToLoop();
    }
    return { pendingRows, added };
  }

  private async dropSettledMembers(): Promise<number> {
    const { keys } = this.queue;
    let cursor = '0';
    let dropped = 0;
    do {
      const page = await this.queue.call((redis) => redis.zScan(keys.pending, cursor, { COUNT: this.pageSize }));
      cursor = String(page.cursor);
      const ids = page.members.map((member) => member.value);
      if (ids.length > 0) {
        const pending = new Set((await run<{ id: string }>(this.pool, sql('escalations-pending-among'), [ids.filter(isUuid)])).map((row) => row.id));
        const stale = ids.filter((id) => !pending.has(id));
        if (stale.length > 0) dropped += await this.queue.call((redis) => redis.zRem(keys.pending, stale));
      }
      await yieldToLoop();
    } while (cursor !== '0');
    return dropped;
  }
}
