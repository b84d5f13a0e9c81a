import type pg from 'pg';
import type { Clock } from '../clock/clock.ts';
import type { Timetable } from '../domain/timetable.ts';
import type { Logger } from '../log/logger.ts';
import type { PendingIndex } from '../redis/pending-index.ts';

/** What the commands need; the API and (later) the worker and CLI build one each. */
export interface CommandDeps {
  pool: pg.Pool;
  pendingIndex: PendingIndex;
  clock: Clock;
  timetable: Timetable;
  logger: Logger;
}
