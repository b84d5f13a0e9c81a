/**
 * Claiming straight from Postgres: while Redis is down, hung or loading (degraded
 * mode), while the index is distrusted (alongside Redis mode, so nothing waits for a
 * rebuild), and for `--once`. Due rows are claimed with SKIP LOCKED on their
 * incidents, so several workers share the work, and executed in the same
 * transaction, batch after batch (batches.ts).
 */
import { run, sql } from '../db/queries.ts';
import { PendingIndex } from '../engine/index/pending.ts';
import { type BatchRunner, recordOutcome } from './batches.ts';
import type { TickSummary, WorkerDeps } from './deps.ts';

export class DegradedMode {
  private readonly index: PendingIndex;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly runner: BatchRunner,
  ) {
    this.index = new PendingIndex(deps.redis, deps.keys, deps.logger);
  }

  /**
   * Executes everything due now, batch after batch; returns when to look again (the
   * next due time, at most WORKER_DEGRADED_POLL away). `syncIndex`: Redis serves, so
   * the index is told what changed (settled rows out, next levels in).
   */
  async drain(summary: TickSummary, { syncIndex }: { syncIndex: boolean }): Promise<number> {
    const { batchSize, degradedPollMs } = this.deps.options;
    for (;;) {
      const { claimed, outcome } = await this.runner.claimAndExecute(batchSize);
      summary.claimed += claimed;
      recordOutcome(this.deps, summary, outcome);
      const { result, failed, interruption } = outcome;
      if (syncIndex) {
        const settled = [...result.executed.map((row) => row.id), ...result.cancelled, ...result.quarantined];
        const retried = failed.filter((row) => !row.quarantined).map((row) => ({ id: row.escalationId, dueAt: row.retryAt }));
        const quarantined = failed.filter((row) => row.quarantined).map((row) => row.escalationId);
        await this.index.applyAfterCommit({ add: [...result.scheduled, ...retried], remove: [...settled, ...quarantined] });
      }
      // A stall: Postgres ended our transaction (the rows are still PENDING, for whoever comes next); this tick is over.
      if (interruption?.stalled) break;
      if (interruption) throw interruption.error;
      if (claimed < batchSize) break;
    }
    const [row] = await run<{ next_due: Date | null }>(this.deps.pool, sql('escalations-next-due'), []);
    const pollAt = this.deps.clock.now().getTime() + degradedPollMs;
    return row?.next_due ? Math.min(row.next_due.getTime(), pollAt) : pollAt;
  }
}
