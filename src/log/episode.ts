/**
 * Logging a condition that may be met thousands of times a second (an overloaded
 * pool, an unreachable database, audit rows that cannot be written) so that the log
 * scales with changes of state, not with traffic: one line when it starts, one
 * summary per interval while it lasts (how many times in that interval), one line
 * when an interval passes without it.
 *
 * A condition that is a state (Redis is down, the worker claims from Postgres) may
 * last without new occurrences: `holds` keeps the episode open through quiet
 * intervals while it says so, and the episode ends at the first quiet interval after
 * it stops holding. Ending only after a quiet interval also folds a condition that
 * flaps (Redis answers, fails, answers again) into one episode instead of two lines
 * per flap.
 */
import type { Logger } from './logger.ts';

export interface EpisodeMessages {
  level: 'warn' | 'error';
  /** Logged the first time, with the fields of that occurrence. */
  started: string;
  /** Logged each interval in which it happened again, with `count`; omitted: no such lines (the end line has the total). */
  continuing?: string;
  /** Logged after a quiet interval (once it no longer holds), with `total` and `lasted_ms`. */
  ended: string;
}

export class EpisodeLog {
  private timer: NodeJS.Timeout | undefined;
  private inInterval = 0;
  private total = 0;
  private startedAt = 0;

  /**
   * @param holds whether the condition still holds though nothing happened in an
   *   interval (a state); by default an episode ends with its first quiet interval.
   */
  constructor(
    private readonly logger: Logger,
    private readonly messages: EpisodeMessages,
    private readonly intervalMs = 1_000,
    private readonly holds: () => boolean = () => false,
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
    if (this.inInterval > 0) {
      if (this.messages.continuing !== undefined) {
        this.logger.log(this.messages.level, this.messages.continuing, { count: this.inInterval, interval_ms: this.intervalMs });
      }
      this.inInterval = 0;
      return;
    }
    if (!this.holds()) this.end();
  }

  private end(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.logger.log(this.messages.level === 'error' ? 'warn' : 'info', this.messages.ended, { total: this.total, lasted_ms: Date.now() - this.startedAt });
    this.total = 0;
    this.inInterval = 0;
  }
}
