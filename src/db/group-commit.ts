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
 * How: at most MAX_RUNNING batch statements are in flight (one); a change submitted
 * while they all are waits, with those that come after it, for the next one (at most
 * MAX_ITEMS in it). So a lone change is committed at once, as before, and under load
 * the batches grow by themselves with the time a statement takes: nothing waits for a
 * timer. Each change's audit rows (the commit hook of the request that submitted it,
 * taken when it was submitted) ride in the statement, and its hook is marked committed
 * with it.
 *
 * A batch that fails (a team deleted meanwhile fails its foreign key, for one change
 * of the batch) is not anyone's failure yet: each of its changes is committed again on
 * its own, and gets its own outcome. The reasons: docs/adr/0007-group-commit.md.
 */
import type pg from 'pg';
import type { AuditEntry } from './audit-log.ts';
import type { Queryable } from './queries.ts';
import { type CommitHook, pendingHook, withRetries, withoutCommitHook } from './transaction.ts';

/**
 * Batch statements in flight at once. One: the next batch gathers while it runs. Two
 * used to run, to keep both cores of a small Postgres busy, but then at 500 alerts a
 * second a batch held 1.5 alerts on average (6,804 statements for 10,000 alerts), and
 * each statement costs its own round trip, executor start and commit. With one, three
 * pairs of interleaved `npm run -s bench -- --intake 500 --duration 20` runs took
 * 39-44 % of a core of Postgres CPU against 57-58 %, and two pairs of `--api 800`
 * 36-37 % against 48-50 %, for the same work, with latencies within the runs' noise
 * (p99 60-121 ms against 79-166 for alerts, 52-54 against 46-84 for openings; over a
 * day of runs the alerts' median p99 was 85 ms with one and 75 with two, the later
 * runs noisier: not settled).
 */
export const MAX_RUNNING = 1;
/** Changes in one statement, at most. */
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

export interface GroupCommitOptions<I, R> {
  maxRunning?: number;
  maxItems?: number;
  /**
   * Items with the same key never share a statement (one waits for the next): for a
   * statement that may write one row per key once only (ON CONFLICT DO UPDATE).
   */
  keyOf?: (item: I) => string;
  /** Whether the statement wrote the item's audit rows, by its result (default: always). */
  wroteAudit?: (result: R) => boolean;
}

export class GroupCommit<I, R> {
  private readonly waiting: Submitted<I, R>[] = [];
  private running = 0;
  private readonly maxRunning: number;
  private readonly maxItems: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly commitMany: CommitMany<I, R>,
    private readonly options: GroupCommitOptions<I, R> = {},
  ) {
    this.maxRunning = options.maxRunning ?? MAX_RUNNING;
    this.maxItems = options.maxItems ?? MAX_ITEMS;
  }

  /** Commits `item` (with the pending commit hook's audit rows), alone or with others; its result once committed. */
  submit(item: I): Promise<R> {
    const hook = pendingHook();
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, hook, resolve, reject });
      this.startNext();
    });
  }

  private startNext(): void {
    while (this.running < this.maxRunning && this.waiting.length > 0) {
      const batch = this.nextBatch();
      this.running += 1;
      // Detached from the submitting request's hook: each change's rows are passed explicitly.
      void withoutCommitHook(() => this.commit(batch)).finally(() => {
        this.running -= 1;
        this.startNext();
      });
    }
  }

  /** The first waiting items, in order, at most maxItems and one per key; the others keep their place. */
  private nextBatch(): Submitted<I, R>[] {
    const { keyOf } = this.options;
    if (!keyOf) return this.waiting.splice(0, this.maxItems);
    const batch: Submitted<I, R>[] = [];
    const keys = new Set<string>();
    const left: Submitted<I, R>[] = [];
    for (const submitted of this.waiting) {
      const key = keyOf(submitted.item);
      if (batch.length < this.maxItems && !keys.has(key)) {
        keys.add(key);
        batch.push(submitted);
      } else {
        left.push(submitted);
      }
    }
    this.waiting.splice(0, this.waiting.length, ...left);
    return batch;
  }

  private async commit(batch: Submitted<I, R>[]): Promise<void> {
    let results: R[];
    try {
      // One statement, its own transaction, and planned once per connection: a batch
      // statement takes its rows as jsonb (jsonb_to_recordset), whose size no plan can
      // see. Had they been arrays, Postgres would have judged a plan made for their
      // length cheaper than the generic one and planned the statement anew on every
      // run (a fifth of alert-triggers.sql's CPU, pg_plan_query in perf).
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
    const wroteAudit = this.options.wroteAudit ?? (() => true);
    batch.forEach((submitted, i) => {
      const result = results[i] as R;
      if (submitted.hook && wroteAudit(result)) submitted.hook.committed = true;
      submitted.resolve(result);
    });
  }
}

/**
 * One GroupCommit per pool (the batches share its connections) and per `scope`, an
 * object what follows each batch's commit needs (the Redis index its new escalations
 * go into), made on first use: a process has one of each, a test may have several.
 */
export class GroupCommits<S extends object, I, R> {
  private readonly byPool = new WeakMap<pg.Pool, WeakMap<S, GroupCommit<I, R>>>();

  constructor(private readonly make: (pool: pg.Pool, scope: S) => GroupCommit<I, R>) {}

  of(pool: pg.Pool, scope: S): GroupCommit<I, R> {
    let byScope = this.byPool.get(pool);
    if (!byScope) this.byPool.set(pool, (byScope = new WeakMap()));
    let group = byScope.get(scope);
    if (!group) byScope.set(scope, (group = this.make(pool, scope)));
    return group;
  }
}
