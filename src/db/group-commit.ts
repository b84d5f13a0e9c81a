/**
 * Group commit: changes that arrive together are committed by one statement, one
 * transaction, one WAL flush, instead of one each.
 *
 * Why: a one-statement change (src/db/transaction.ts, commitStatement) still pays, per
 * change, what Postgres does once per statement and per transaction (starting the
 * executor over every table and index the statement writes, parsing the tables' CHECK
 * constraints, the locks, the commit) and what the API does per round trip (the write
 * on the socket, the answer's parsing). Under load those were most of the cost of
 * opening an incident (bench --api: about 1.2 ms of Postgres CPU a request).
 *
 * How: at most MAX_RUNNING batch statements are in flight; a change submitted while
 * they all are waits, with those that come after it, for the next one (at most
 * MAX_ITEMS in it). So a lone change is committed at once, as before, and under load
 * the batches grow by themselves with the time a statement takes: nothing waits for a
 * timer. Each change's audit rows (the commit hook of the request that submitted it,
 * taken when it was submitted) ride in the statement, and its hook is marked committed
 * with it.
 *
 * A batch that fails (a team deleted meanwhile fails its foreign key, for one change
 * of the batch) is not anyone's failure yet: each of its changes is committed again on
 * its own, and gets its own outcome.
 */
import type pg from 'pg';
import type { AuditEntry } from './audit-log.ts';
import type { Queryable } from './queries.ts';
import { type CommitHook, pendingHook, withRetries, withoutCommitHook } from './transaction.ts';

/** Batch statements in flight at once: two keep both cores of a small Postgres busy while the next batch gathers. */
export const MAX_RUNNING = 2;
/** Changes in one statement, at most (its arrays' length). */
export const MAX_ITEMS = 64;

/**
 * One statement that commits every item with its audit rows (`audits[i]`: item i's,
 * possibly none), and answers each item's result, in the items' order.
 */
export type CommitMany<I, R> = (db: Queryable, items: readonly I[], audits: readonly (readonly AuditEntry[])[]) => Promise<R[]>;

interface Submitted<I, R> {
  item: I;
  hook: CommitHook | undefined;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<I, R> {
  private readonly waiting: Submitted<I, R>[] = [];
  private running = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly commitMany: CommitMany<I, R>,
    private readonly limits: { maxRunning: number; maxItems: number } = { maxRunning: MAX_RUNNING, maxItems: MAX_ITEMS },
  ) {}

  /** Commits `item` (with the pending commit hook's audit rows), alone or with others; its result once committed. */
  submit(item: I): Promise<R> {
    const hook = pendingHook();
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, hook, resolve, reject });
      this.startNext();
    });
  }

  /** Changes waiting for a statement (not those in flight). */
  get queued(): number {
    return this.waiting.length;
  }

  private startNext(): void {
    while (this.running < this.limits.maxRunning && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.limits.maxItems);
      this.running += 1;
      // Detached from the submitting request's hook: each change's rows are passed explicitly.
      void withoutCommitHook(() => this.commit(batch)).finally(() => {
        this.running -= 1;
        this.startNext();
      });
    }
  }

  private async commit(batch: Submitted<I, R>[]): Promise<void> {
    let results: R[];
    try {
      results = await withRetries(() =>
        this.commitMany(
          this.pool,
          batch.map((submitted) => submitted.item),
          batch.map((submitted) => (submitted.hook && !submitted.hook.committed ? submitted.hook.rows() : [])),
        ),
      );
    } catch (error) {
      const [only] = batch;
      if (batch.length === 1 && only) return only.reject(error);
      // Which change failed the batch is not known: each alone, with its own outcome.
      await Promise.all(batch.map((submitted) => this.commit([submitted])));
      return;
    }
    batch.forEach((submitted, i) => {
      if (submitted.hook) submitted.hook.committed = true;
      submitted.resolve(results[i] as R);
    });
  }
}
