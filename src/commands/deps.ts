import type pg from 'pg';
import type { Clock } from '../clock/clock.ts';
import type { Timetable } from '../domain/timetable.ts';
import type { Logger } from '../log/logger.ts';
import type { PendingIndex } from '../redis/pending-index.ts';
import type { ExecutionResult } from '../worker/executor.ts';

/** Counts levels executed (src/metrics/metrics.ts), wherever they are executed. */
export interface ExecutionCounter {
  recordExecution(result: Pick<ExecutionResult, 'executed' | 'cancelled' | 'exhausted'>): void;
}

/** What the commands need; the API, the worker and the CLI build one each. */
export interface CommandDeps {
  pool: pg.Pool;
  pendingIndex: PendingIndex;
  clock: Clock;
  timetable: Timetable;
  logger: Logger;
  /** Where the levels a command executes (a manual escalate, a reassign to a level) are counted; none in the CLI. */
  metrics?: ExecutionCounter;
}
