/**
 * A worker warms up before it takes its first claims: it executes synthetic
 * escalations with the real executor on copies of the tables, then has each of its
 * connections plan the statements those executions ran.
 *
 * Why: a fresh process runs its code cold (interpreted at first, then compiled by V8 on
 * the very cores Postgres needs), and its connections' backends have planned nothing
 * yet. Under a steady load the first batches took longest, fell behind, grew, and the
 * worker stayed behind. Measured, `npm run -s bench -- --rate 5000 --duration 20
 * --workers 2`, five runs each, interleaved: p99 at commit 76, 84, 126, 134 and 156 ms
 * with a warm-up; 91, 197, 212, 212 and 216 ms without. The first two seconds:
 * p99 54-189 ms against 118-272 ms.
 *
 * Why copies: the warm-up used to execute on the real tables, in transactions it rolled
 * back. That committed nothing, but left a dead row for every synthetic incident,
 * escalation and event. On the nearly empty tables of a new installation, an
 * autovacuum that came while those were most of a table recorded its pages with next
 * to no live rows, and every plan made afterwards took a table of 100,000 rows for a
 * nearly empty one until the next ANALYZE, a minute or more later. One bench run with a
 * larger warm-up, most likely for that reason, had Postgres spend 5.9 ms of CPU an
 * execution instead of 0.2, and left 91,725 of 100,000 escalations unexecuted in time
 * (ADR 10). Copies leave nothing in the real tables, not even a sequence's step.
 *
 * How, in two steps:
 * 1. Rounds of ROWS_PER_ROUND synthetic escalations executed on a shadow session
 *    (src/db/shadow.ts: temporary copies of the tables; a write that would reach a
 *    real one is refused), each round rolled back, so that the next finds the copies
 *    as empty as the first. Their incidents have no policy snapshot, so they follow the
 *    default policy, which has no targets: they page nobody and plan no notification.
 * 2. Each connection of the worker's pool plans the statements those rounds ran
 *    (src/db/plan-ahead.ts: read-only transactions, rolled back) on the real tables.
 *
 * Only while nothing is due: before each round it asks Postgres for the next due time,
 * and stops when something falls due within DUE_MARGIN_MS (it then plans nothing
 * either). A worker started into a backlog (a restart during an outage) warms up on the
 * real work instead of making it wait, and a page due during the warm-up waits for one
 * round at most. The rounds never take longer than TIME_BUDGET_MS, the planning no
 * longer than PLANNING_BUDGET_MS. WORKER_WARM_UP sets the number of executions; 0 turns
 * the warm-up off.
 */
import type pg from 'pg';
import type { Clock } from '../clock/clock.ts';
import { planAhead } from '../db/plan-ahead.ts';
import { run, sql } from '../db/queries.ts';
import { openShadowPool } from '../db/shadow.ts';
import type { Timetable } from '../domain/timetable.ts';
import { executeEscalations } from '../engine/executor.ts';
import type { Logger } from '../log/logger.ts';
import type { WorkerOptions } from './deps.ts';
import { boundsForLease, inRolledBackTransaction } from './transaction.ts';

/** Synthetic executions per round: as many as a full batch of the default WORKER_BATCH_SIZE (a burst's). */
export const ROWS_PER_ROUND = 500;
/** Work due sooner than this stops the warm-up (checked before each round, which takes tens of ms). */
export const DUE_MARGIN_MS = 1_000;
/** The longest the rounds go on, whatever WORKER_WARM_UP asks: the planning follows, then the worker starts. */
export const TIME_BUDGET_MS = 2_000;
/** The longest the planning goes on (tens of ms on the bench's machine). */
export const PLANNING_BUDGET_MS = 1_000;

export interface WarmUpDeps {
  /** The worker's pool: asked what falls due, and each of its connections plans the statements. */
  pool: pg.Pool;
  /** Its connections: all of them plan. */
  poolSize: number;
  /** Where the copies are made (config `databaseUrl`), and as whom (config `database.role`). */
  databaseUrl: string;
  role: string;
  clock: Clock;
  timetable: Timetable;
  logger: Logger;
  options: Pick<WorkerOptions, 'leaseMs' | 'warmUp'>;
  /** Aborted when the process is told to stop: no round starts, and no statement is planned, after it. */
  signal?: AbortSignal;
}

export interface WarmUpOutcome {
  /** Synthetic escalations executed on the copies, and rolled back. */
  executions: number;
  /** Statements run on the pool's connections to be planned. */
  planned: number;
  /**
   * done: all it was asked; due: stopped because work falls due; budget: out of time
   * (for the rounds, whose statements are planned all the same, or the planning);
   * stopped: the process is stopping; off: WORKER_WARM_UP=0; failed: see the warning.
   */
  ended: 'done' | 'due' | 'budget' | 'stopped' | 'off' | 'failed';
  tookMs: number;
}

/** Warms the worker's code and its connections up (see the module comment); logs one line, and never throws. */
export async function warmUp(deps: WarmUpDeps): Promise<WarmUpOutcome> {
  const startedAt = performance.now();
  if (deps.options.warmUp === 0) return { executions: 0, planned: 0, ended: 'off', tookMs: 0 };
  const progress = { executions: 0, planned: 0 };
  let ended: WarmUpOutcome['ended'];
  try {
    ended = await rounds(deps, startedAt, progress);
  } catch (error) {
    const tookMs = Math.round(performance.now() - startedAt);
    deps.logger.warn('the warm-up failed; the worker starts without it', { error, executions: progress.executions, took_ms: tookMs });
    return { ...progress, ended: 'failed', tookMs };
  }
  const tookMs = Math.round(performance.now() - startedAt);
  // Stopping: the line saying so is the signal's (src/main/bootstrap.ts).
  if (ended !== 'stopped') {
    deps.logger.info(ended === 'due' ? 'warm-up stopped: escalations are due' : 'warmed up', {
      executions: progress.executions,
      on_copies: true,
      statement_runs: progress.planned,
      ended,
      took_ms: tookMs,
    });
  }
  return { ...progress, ended, tookMs };
}

async function rounds(deps: WarmUpDeps, startedAt: number, progress: { executions: number; planned: number }): Promise<WarmUpOutcome['ended']> {
  const { signal } = deps;
  // Checked before the copies are made: a worker started into a backlog makes none.
  if (await workFallsDue(deps)) return 'due';
  const shadow = await openShadowPool({ databaseUrl: deps.databaseUrl, role: deps.role, applicationName: 'klaxon-worker-warm-up', logger: deps.logger });
  const bounds = boundsForLease(deps.options.leaseMs);
  let ended: WarmUpOutcome['ended'] = 'done';
  // Rows asked for so far: a round whose rows were not all executed does not make the warm-up go on longer.
  let asked = 0;
  try {
    while (asked < deps.options.warmUp) {
      if (signal?.aborted) return 'stopped';
      if (performance.now() - startedAt > TIME_BUDGET_MS) {
        ended = 'budget';
        break;
      }
      if (asked > 0 && (await workFallsDue(deps))) return 'due';
      // Its copies went with the lost connection: a write would now be refused, a read see real rows.
      if (shadow.remade) throw new Error('the warm-up lost its Postgres connection');
      const rows = Math.min(ROWS_PER_ROUND, deps.options.warmUp - asked);
      asked += rows;
      progress.executions += await inRolledBackTransaction(shadow.pool, bounds, async (client) => {
        const now = deps.clock.now();
        const ids = (await run<{ id: string }>(client, sql('warm-up-escalations'), [rows, now])).map((row) => row.id);
        const result = await executeEscalations(client, deps, ids, { lockedIncidents: 'skip' });
        return result.executed.length;
      });
    }
  } finally {
    await shadow.close();
  }
  const outOfTime = AbortSignal.timeout(PLANNING_BUDGET_MS);
  progress.planned = await planAhead(deps.pool, shadow.statements(), deps.poolSize, signal ? AbortSignal.any([signal, outOfTime]) : outOfTime);
  if (signal?.aborted) return 'stopped';
  return outOfTime.aborted ? 'budget' : ended;
}

async function workFallsDue(deps: WarmUpDeps): Promise<boolean> {
  const [row] = await run<{ next_due: Date | null }>(deps.pool, sql('escalations-next-due'), []);
  return row?.next_due != null && row.next_due.getTime() <= deps.clock.now().getTime() + DUE_MARGIN_MS;
}
