/**
 * A worker warms up before it takes its first claims: it executes synthetic
 * escalations with the real executor, in transactions it always rolls back.
 *
 * Why: a fresh process runs its code cold (interpreted at first, then compiled by V8 on
 * the very cores Postgres needs), and its connections' backends have planned nothing
 * yet. Under a steady load the first batches took longest, fell behind, grew, and the
 * worker stayed behind. Measured, `npm run -s bench -- --rate 5000 --duration 20
 * --workers 2`, five runs each, interleaved: p99 at commit 76, 84, 126, 134 and 156 ms
 * with this warm-up; 91, 197, 212, 212 and 216 ms without. The first two seconds:
 * p99 54-189 ms against 118-272 ms.
 *
 * Only while nothing is due: before each round it asks Postgres for the next due time,
 * and stops when something falls due within DUE_MARGIN_MS. A worker started into a
 * backlog (a restart during an outage) warms up on the real work instead of making it
 * wait, and a page due during the warm-up waits for one round at most. A warm-up
 * never takes longer than TIME_BUDGET_MS.
 *
 * Nothing of it is ever committed (inRolledBackTransaction), so no other session sees
 * it. Its incidents have no policy snapshot, so they follow the default policy. That
 * policy has no targets, so even these rolled-back executions page nobody and plan no
 * notification. What is left of them is an event id sequence a few thousand further on
 * (ids may have gaps anyway) and dead rows for autovacuum. WORKER_WARM_UP sets the
 * number of executions; 0 turns the warm-up off.
 */
import type pg from 'pg';
import type { Clock } from '../clock/clock.ts';
import { run, sql } from '../db/queries.ts';
import { runLanes } from '../domain/lanes.ts';
import type { Timetable } from '../domain/timetable.ts';
import { executeEscalations } from '../engine/executor.ts';
import type { Logger } from '../log/logger.ts';
import type { WorkerOptions } from './deps.ts';
import { boundsForLease, inRolledBackTransaction } from './transaction.ts';

/** Synthetic executions per rolled-back transaction: a batch the size of those seen under load. */
export const ROWS_PER_ROUND = 100;
/** Work due sooner than this stops the warm-up (checked before each round, which takes tens of ms). */
export const DUE_MARGIN_MS = 1_000;
/** The longest a warm-up goes on, whatever WORKER_WARM_UP asks: the worker then starts anyway. */
export const TIME_BUDGET_MS = 2_000;

export interface WarmUpDeps {
  pool: pg.Pool;
  clock: Clock;
  timetable: Timetable;
  logger: Logger;
  options: Pick<WorkerOptions, 'concurrency' | 'leaseMs' | 'warmUp'>;
  /** Aborted when the process is told to stop: no round starts after it. */
  signal?: AbortSignal;
}

export interface WarmUpOutcome {
  /** Synthetic escalations executed, and rolled back. */
  executions: number;
  /**
   * done: all it was asked; due: stopped because work falls due; budget: out of time;
   * stopped: the process is stopping; off: WORKER_WARM_UP=0; failed: see the warning.
   */
  ended: 'done' | 'due' | 'budget' | 'stopped' | 'off' | 'failed';
  tookMs: number;
}

/** Warms the worker's code and its connections up (see the module comment); logs one line, and never throws. */
export async function warmUp(deps: WarmUpDeps): Promise<WarmUpOutcome> {
  const startedAt = performance.now();
  const wanted = deps.options.warmUp;
  if (wanted === 0) return { executions: 0, ended: 'off', tookMs: 0 };
  const bounds = boundsForLease(deps.options.leaseMs);
  let planned = 0;
  let executions = 0;
  // An object: the lanes end it from their closures.
  const state: { ended: WarmUpOutcome['ended'] } = { ended: 'done' };

  // One lane per connection a batch uses, so that each of their backends plans its statements.
  const lane = async () => {
    while (planned < wanted && state.ended === 'done') {
      if (deps.signal?.aborted) {
        state.ended = 'stopped';
        return;
      }
      if (performance.now() - startedAt > TIME_BUDGET_MS) {
        state.ended = 'budget';
        return;
      }
      if (await workFallsDue(deps)) {
        state.ended = 'due';
        return;
      }
      const rows = Math.min(ROWS_PER_ROUND, wanted - planned);
      planned += rows;
      const executed = await inRolledBackTransaction(deps.pool, bounds, async (client) => {
        const now = deps.clock.now();
        const ids = (await run<{ id: string }>(client, sql('warm-up-escalations'), [rows, now])).map((row) => row.id);
        const result = await executeEscalations(client, deps, ids, { lockedIncidents: 'skip' });
        return result.executed.length;
      });
      // Not `executions += await ...`: that reads the total before the await, and the lanes run at once.
      executions += executed;
    }
  };
  // A lane that fails ends the others after their round: the worker starts only once none is left running.
  const failure = await runLanes(Math.max(1, deps.options.concurrency), lane, () => {
    state.ended = 'failed';
  });
  const tookMs = Math.round(performance.now() - startedAt);
  if (failure) {
    const error: unknown = failure.reason;
    deps.logger.warn('the warm-up failed; the worker starts without it', { error, executions, took_ms: tookMs });
    return { executions, ended: 'failed', tookMs };
  }
  const { ended } = state;
  // Stopping: the line saying so is the signal's (src/main/bootstrap.ts).
  if (ended === 'stopped') return { executions, ended, tookMs };
  deps.logger.info(ended === 'due' ? 'warm-up stopped: escalations are due' : 'warmed up', {
    executions,
    rolled_back: true,
    ended,
    took_ms: tookMs,
  });
  return { executions, ended, tookMs };
}

async function workFallsDue(deps: WarmUpDeps): Promise<boolean> {
  const [row] = await run<{ next_due: Date | null }>(deps.pool, sql('escalations-next-due'), []);
  return row?.next_due != null && row.next_due.getTime() <= deps.clock.now().getTime() + DUE_MARGIN_MS;
}
