import type pg from 'pg';
import type { Clock } from '../clock/clock.ts';
import type { Timetable } from '../domain/timetable.ts';
import type { Logger } from '../log/logger.ts';
import type { PendingIndex } from '../engine/index/pending.ts';
import type { Metrics } from '../metrics/metrics.ts';

/** Counts levels executed, wherever they are executed. */
export type ExecutionCounter = Pick<Metrics, 'recordExecution'>;

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
