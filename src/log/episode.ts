/**
 * Logging a condition that may be met thousands of times a second (an overloaded
 * pool, an unreachable database, audit rows that cannot be written) so that the log
 * scales with changes of state, not with traffic: one line when it starts, one
 * summary per interval while it lasts (how many times in that interval), one line
 * when an interval passes without it.
 */
import type { Logger } from './logger.ts';

export interface EpisodeMessages {
  level: 'warn' | 'error';
  /** Logged the first time, with the fields of that occurrence. */
  started: string;
  /** Logged each interval in which it happened again, with `count`. */
  continuing: string;
  /** Logged after an interval without it, with `total` and `lasted_ms`. */
  ended: string;
}

export class EpisodeLog {
  private timer: NodeJS.Timeout | undefined;
  private inInterval = 0;
  private total = 0;
  private startedAt = 0;

  constructor(
    private readonly logger: Logger,
    private readonly messages: EpisodeMessages,
    private readonly intervalMs = 1_000,
  ) {}

  /** One occurrence. */
  record(fields: Record<string, unknown> = {}): void {
    this.total += 1;
    if (this.timer !== undefined) {
      this.inInterval += 1;
      return;
    }
    this.startedAt = Date.now();
    this.logger.log(this.messages.level, this.messages.started, fields);
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    // A quiet process may exit with an episode open; the timer must not keep it alive.
    this.timer.unref();
  }

  /** Whether an episode is going on. */
  get active(): boolean {
    return this.timer !== undefined;
  }

  /** Ends an open episode now (at shutdown), with its closing line. */
  close(): void {
    if (this.timer === undefined) return;
    if (this.inInterval > 0) this.tick();
    this.end();
  }

  private tick(): void {
    if (this.inInterval === 0) {
      this.end();
      return;
    }
    this.logger.log(this.messages.level, this.messages.continuing, { count: this.inInterval, interval_ms: this.intervalMs });
    this.inInterval = 0;
  }

  private end(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.logger.log(this.messages.level === 'error' ? 'warn' : 'info', this.messages.ended, { total: this.total, lasted_ms: Date.now() - this.startedAt });
    this.total = 0;
    this.inInterval = 0;
  }
}
