/**
 * Running claimed escalations so that neither a bad row nor a stalled session holds
 * the others back (issue 10, items 4 and 5).
 *
 * A batch runs in one bounded transaction (transaction.ts), locking incidents with
 * SKIP LOCKED: rows of an incident another session holds come back `busy`, for the
 * caller to hand back, instead of the whole batch queueing behind that session.
 *
 * When the transaction fails in a way a row's data can cause, not because the
 * database, the connection or the schema did (transaction.ts: failedForItsRows), its
 * rows run apart in one more transaction: halves under savepoints, recursively (nine
 * levels for 500), so the good rows commit with one COMMIT and the row at fault is
 * left alone in a group of one. Only a failure alone counts against a row, in Postgres,
 * shared by every worker (src/engine/quarantine.ts): it is tried again after a
 * backoff, and after MAX_EXECUTION_ATTEMPTS it is quarantined, logged once with its
 * id and the error. Rows that failed before run alone from the start, so they cost
 * their neighbours a split only once per worker.
 *
 * Measured (test/worker/poison-row.test.ts, on the 2-core development machine shared
 * with other work): a batch of 500 due at once with one row whose execution always
 * throws executed the other 499 in the same tick, 175-450 ms after they were due,
 * where a clean batch of 500 took 31-68 ms; before, none of the 500 ever executed.
 */
import type pg from 'pg';
import { run, sql } from '../db/queries.ts';
import { type ExecutionResult, emptyResult, executeEscalations } from '../engine/executor.ts';
import { type RecordedFailure, recordExecutionFailure } from '../engine/quarantine.ts';
import { EpisodeLog } from '../log/episode.ts';
import { type TickSummary, type WorkerDeps, addToSummary } from './deps.ts';
import { STALLED_SQLSTATE, type TransactionBounds, boundsForLease, failedForItsRows, inBoundedTransaction, sqlState } from './transaction.ts';

export interface BatchOutcome {
  /** What the transactions that committed did, together. */
  result: ExecutionResult;
  /** Rows whose execution failed on its own, as counted: tried again at `retryAt`, unless quarantined. */
  failed: RecordedFailure[];
  /** Rows not run because the work was interrupted (`interruption`): to be handed back whole. */
  untried: string[];
  /**
   * Why the work stopped before every row was run: the database or the connection
   * failed, or (`stalled`) Postgres ended our transaction because this worker stalled
   * inside it past its bound; its claims are another worker's by now.
   */
  interruption?: { error: unknown; stalled: boolean };
}

/** Ids of rows that failed, remembered so that they run alone; beyond this, the oldest are forgotten. */
const KNOWN_FAILING_MAX = 10_000;

export class BatchRunner {
  readonly bounds: TransactionBounds;
  private readonly knownFailing = new Set<string>();
  /** Batches failing because of their rows: a line when it starts, a count per interval. */
  private readonly failing: EpisodeLog;
  /** This worker stalled inside a transaction until Postgres ended it. */
  private readonly stalls: EpisodeLog;

  constructor(private readonly deps: WorkerDeps) {
    this.bounds = boundsForLease(deps.options.leaseMs);
    this.failing = new EpisodeLog(deps.logger, {
      level: 'warn',
      started: 'executing a batch of escalations failed because of its rows: running them apart to isolate the one at fault',
      continuing: 'batches of escalations still fail because of their rows',
      ended: 'batches of escalations no longer fail',
    });
    this.stalls = new EpisodeLog(deps.logger, {
      level: 'warn',
      started:
        'this worker stalled inside a transaction past its bound and Postgres ended it: its claims go to another worker, its late commit changes nothing',
      ended: 'no more stalled transactions',
    });
  }

  /** Executes claimed `ids`: together, or apart when that fails because of a row. */
  async execute(ids: string[]): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { result: emptyResult(), failed: [], untried: [] };
    const [alone, together] = this.partitionKnownFailing(ids);
    let groups = alone.map((id) => [id]);
    if (together.length > 0) {
      try {
        this.committed(outcome, await inBoundedTransaction(this.deps.pool, this.bounds, (client) => this.executeIn(client, together)));
      } catch (error) {
        groups = [...this.failedTogether(together, error, outcome), ...groups];
      }
    }
    await this.runApart(groups, outcome);
    return outcome;
  }

  /**
   * Claims up to `limit` due rows straight from Postgres (SKIP LOCKED on their
   * incidents) and executes them in the same transaction; apart when that fails
   * because of a row.
   */
  async claimAndExecute(limit: number): Promise<{ claimed: number; outcome: BatchOutcome }> {
    const outcome: BatchOutcome = { result: emptyResult(), failed: [], untried: [] };
    let claimed: string[] = [];
    let together: string[] = [];
    let alone: string[] = [];
    let groups: string[][] = [];
    try {
      const result = await inBoundedTransaction(this.deps.pool, this.bounds, async (client) => {
        const due = await run<{ id: string }>(client, sql('escalations-claim-due'), [this.deps.clock.now(), limit]);
        claimed = due.map((row) => row.id);
        [alone, together] = this.partitionKnownFailing(claimed);
        return this.executeIn(client, together);
      });
      this.committed(outcome, result);
    } catch (error) {
      if (claimed.length === 0) {
        this.interrupted(outcome, error, []);
        return { claimed: 0, outcome };
      }
      groups = this.failedTogether(together, error, outcome);
    }
    // Rows that failed before were left out of the claim's transaction: each runs on its own.
    await this.runApart([...groups, ...alone.map((id) => [id])], outcome);
    return { claimed: claimed.length, outcome };
  }

  private async executeIn(client: pg.PoolClient, ids: string[]): Promise<ExecutionResult> {
    const result = await executeEscalations(client, this.deps, ids, { lockedIncidents: 'skip' });
    if (ids.length > 0) await this.deps.hooks?.beforeCommit?.(ids);
    return result;
  }

  /**
   * The batch's transaction failed: handed back whole when the database did (none to
   * run apart), its halves to run apart when its rows did.
   */
  private failedTogether(ids: string[], error: unknown, outcome: BatchOutcome): string[][] {
    if (!failedForItsRows(error)) {
      this.interrupted(outcome, error, ids);
      return [];
    }
    this.failing.record({ error, size: ids.length });
    return halves(ids);
  }

  /**
   * Runs each group apart, in one more transaction: each under a savepoint, a group
   * that fails split in halves, recursively, down to the rows that fail alone, whose
   * attempts are counted in the same transaction. One COMMIT (one fsync) for the
   * whole search: the good rows wait for a few statements more, not a few commits.
   */
  private async runApart(groups: string[][], outcome: BatchOutcome): Promise<void> {
    const ids = groups.flat();
    if (ids.length === 0) return;
    if (outcome.interruption) {
      outcome.untried.push(...ids);
      return;
    }
    const apart: BatchOutcome = { result: emptyResult(), failed: [], untried: [] };
    try {
      await inBoundedTransaction(this.deps.pool, this.bounds, async (client) => {
        // A retried transaction (a deadlock) starts over.
        Object.assign(apart, { result: emptyResult(), failed: [] });
        for (const group of groups) await this.bisect(client, group, apart);
        await this.deps.hooks?.beforeCommit?.(ids);
      });
    } catch (error) {
      this.interrupted(outcome, error, ids);
      return;
    }
    this.committed(outcome, apart.result);
    for (const failure of apart.failed) this.counted(failure, outcome);
  }

  private async bisect(client: pg.PoolClient, ids: string[], apart: BatchOutcome): Promise<void> {
    if (ids.length === 0) return;
    await client.query('SAVEPOINT apart');
    try {
      mergeInto(apart.result, await executeEscalations(client, this.deps, ids, { lockedIncidents: 'skip' }));
      await client.query('RELEASE SAVEPOINT apart');
      return;
    } catch (error) {
      // The database failing ends the whole transaction: nothing of it happened.
      if (!failedForItsRows(error)) throw error;
      await client.query('ROLLBACK TO SAVEPOINT apart; RELEASE SAVEPOINT apart');
      const [only] = ids;
      if (ids.length === 1 && only !== undefined) {
        const recorded = await recordExecutionFailure(client, only, error, this.deps.clock.now());
        if (recorded === null)
          apart.result.skipped.push(only); // it does not exist
        else apart.failed.push(recorded);
        this.failing.record({ error, escalation_id: only });
        this.deps.logger.debug('an escalation failed on its own', { escalation_id: only, attempts: recorded?.attempts, error });
        return;
      }
    }
    for (const half of halves(ids)) await this.bisect(client, half, apart);
  }

  private interrupted(outcome: BatchOutcome, error: unknown, ids: string[]): void {
    const stalled = sqlState(error) === STALLED_SQLSTATE;
    if (stalled)
      this.stalls.record({
        error,
        escalation_ids: ids.length <= 20 ? ids : undefined,
        rows: ids.length,
        idle_in_transaction_ms: this.bounds.idleInTransactionMs,
      });
    outcome.interruption ??= { error, stalled };
    outcome.untried.push(...ids);
  }

  /** A failed attempt of one row, committed: remembered to run alone, or said once when it got the row quarantined. */
  private counted(recorded: RecordedFailure, outcome: BatchOutcome): void {
    const id = recorded.escalationId;
    this.deps.metrics?.recordExecutionFailure();
    outcome.failed.push(recorded);
    if (!recorded.quarantined) {
      this.rememberFailing(id);
      return;
    }
    this.knownFailing.delete(id);
    if (recorded.newlyQuarantined) {
      this.deps.metrics?.recordQuarantined();
      this.deps.logger.error(
        'quarantined an escalation whose execution keeps failing: it stays PENDING, out of every batch, until released (klaxon escalation release)',
        {
          escalation_id: id,
          incident_id: recorded.incidentId,
          attempts: recorded.attempts,
          error: recorded.lastError,
        },
      );
    }
  }

  private committed(outcome: BatchOutcome, result: ExecutionResult): void {
    for (const row of result.executed) this.knownFailing.delete(row.id);
    for (const id of result.cancelled) this.knownFailing.delete(id);
    mergeInto(outcome.result, result);
  }

  private partitionKnownFailing(ids: string[]): [alone: string[], together: string[]] {
    if (this.knownFailing.size === 0) return [[], ids];
    return [ids.filter((id) => this.knownFailing.has(id)), ids.filter((id) => !this.knownFailing.has(id))];
  }

  private rememberFailing(id: string): void {
    this.knownFailing.delete(id);
    this.knownFailing.add(id);
    if (this.knownFailing.size > KNOWN_FAILING_MAX) {
      const [oldest] = this.knownFailing;
      if (oldest !== undefined) this.knownFailing.delete(oldest);
    }
  }
}

function halves(ids: string[]): string[][] {
  const middle = Math.ceil(ids.length / 2);
  return [ids.slice(0, middle), ids.slice(middle)];
}

function mergeInto(target: ExecutionResult, source: ExecutionResult): void {
  target.executed.push(...source.executed);
  target.cancelled.push(...source.cancelled);
  target.skipped.push(...source.skipped);
  target.requeued.push(...source.requeued);
  target.scheduled.push(...source.scheduled);
  target.exhausted.push(...source.exhausted);
  target.busy.push(...source.busy);
  target.quarantined.push(...source.quarantined);
}

/** Adds what a batch did to the tick's summary and to the metrics (called once its transactions have committed). */
export function recordOutcome(deps: WorkerDeps, summary: TickSummary, outcome: BatchOutcome): void {
  addToSummary(summary, outcome.result);
  summary.failed += outcome.failed.length;
  summary.quarantined += outcome.failed.filter((row) => row.newlyQuarantined).length;
  // Read now, after the COMMITs returned: never earlier than the page became durable.
  deps.metrics?.recordExecution(outcome.result, deps.clock.now());
}
