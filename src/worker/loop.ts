/**
 * The worker's loop around its tick: one explicit timer set for the next wake-up
 * (the earliest due escalation or lease, at most WORKER_MAX_SLEEP away), a pub/sub
 * subscription through which writers announce what they add, so a sleeping worker
 * wakes for something due sooner, a wake-up that arrives mid-tick remembered for when
 * the tick ends, capped and jittered backoff after failed ticks, and a stop that lets
 * the tick in flight finish. There is no fixed poll.
 */
import { type Backoff, backoffMs } from '../clock/deadline.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { EpisodeLog } from '../log/episode.ts';
import { type RedisClient, closeRedis, duplicateRedis } from '../redis/client.ts';
import type { WorkerDeps } from './deps.ts';

/** After a tick failed (Postgres down, or refusing something). */
const TICK_BACKOFF: Backoff = { baseMs: 200, capMs: 5_000 };
/** While Postgres is down: how often the log sums the failed ticks up, and how soon after it answers the end is logged. */
export const OUTAGE_SUMMARY_MS = 10_000;

export interface LoopCallbacks {
  /** One pass; says when to come back (null: nothing known, sleep the longest). */
  tick(): Promise<{ nextWakeMs: number | null }>;
  /** Something due sooner was announced while a tick runs (it may be waiting on its batches). */
  wokenDuringTick(): void;
}

export class WorkerLoop {
  private timer: NodeJS.Timeout | undefined;
  private plannedWakeMs = Number.POSITIVE_INFINITY;
  private ticking: Promise<void> | undefined;
  /** The earliest due time announced while a tick was running. */
  private wakeDuringTickMs = Number.POSITIVE_INFINITY;
  private stopping = false;
  private started = false;
  private consecutiveErrors = 0;
  private subscriber: RedisClient | undefined;
  /**
   * Postgres not answering is a state, not an event: one line when ticks start failing
   * on it, a count per OUTAGE_SUMMARY_MS while they go on, one line once a tick has
   * succeeded again. Before, each failed tick logged an error: one every 5 s (the
   * backoff's cap) for as long as the outage lasted.
   */
  private readonly postgresDown: EpisodeLog;

  constructor(
    private readonly deps: Pick<WorkerDeps, 'redis' | 'keys' | 'clock' | 'logger' | 'options'>,
    private readonly callbacks: LoopCallbacks,
    outageSummaryMs = OUTAGE_SUMMARY_MS,
  ) {
    this.postgresDown = new EpisodeLog(
      deps.logger,
      {
        level: 'error',
        started: 'Postgres is unavailable to the worker: retrying its ticks with backoff',
        continuing: 'Postgres is still unavailable to the worker',
        ended: 'Postgres answers the worker again',
      },
      outageSummaryMs,
      () => this.consecutiveErrors > 0,
    );
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('worker already started');
    this.started = true;
    this.subscriber = duplicateRedis(this.deps.redis);
    this.subscriber.on('ready', () => void this.subscribe());
    this.subscriber.connect().catch(() => undefined);
    this.schedule(0);
    await Promise.resolve();
  }

  /** Something due at `dueMs` was added: come back by then. */
  wake(dueMs: number): void {
    if (this.stopping || !this.started || Number.isNaN(dueMs)) return;
    if (this.ticking) {
      // The tick's last claim may have looked before this was added: remember it.
      this.wakeDuringTickMs = Math.min(this.wakeDuringTickMs, dueMs);
      this.callbacks.wokenDuringTick();
      return;
    }
    if (dueMs < this.plannedWakeMs) this.schedule(dueMs);
  }

  /** Stops scheduling ticks and waits for the one in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** Disconnects the wake-up subscription (after stop(), once the work in flight is done). */
  async close(): Promise<void> {
    if (!this.subscriber) return;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    await closeRedis(subscriber);
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber?.subscribe(this.deps.keys.wakeChannel, (message) => this.wake(Number(message)));
    } catch (error) {
      this.deps.logger.debug('wake-up subscription failed; relying on the maximum sleep', { error });
    }
  }

  private schedule(atMs: number): void {
    clearTimeout(this.timer);
    const now = this.deps.clock.now().getTime();
    const delay = Math.max(0, Math.min(atMs - now, this.deps.options.maxSleepMs));
    this.plannedWakeMs = now + delay;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.plannedWakeMs = Number.POSITIVE_INFINITY;
      this.ticking = this.loopOnce().finally(() => {
        this.ticking = undefined;
      });
    }, delay);
  }

  private async loopOnce(): Promise<void> {
    let nextWakeMs: number | null;
    this.wakeDuringTickMs = Number.POSITIVE_INFINITY;
    try {
      nextWakeMs = (await this.callbacks.tick()).nextWakeMs;
      this.consecutiveErrors = 0;
    } catch (error) {
      this.consecutiveErrors += 1;
      // Postgres is down or refused something: retry with capped, jittered backoff.
      const retryInMs = backoffMs(this.consecutiveErrors, TICK_BACKOFF);
      const fields = { error, consecutive_errors: this.consecutiveErrors, retry_in_ms: Math.round(retryInMs) };
      // Anything but Postgres being down (a statement refused, a bug) is logged each time.
      if (isDatabaseUnavailable(error)) this.postgresDown.record(fields);
      else this.deps.logger.error('worker tick failed; retrying', fields);
      nextWakeMs = this.deps.clock.now().getTime() + retryInMs;
    }
    if (!this.stopping) this.schedule(Math.min(nextWakeMs ?? Number.POSITIVE_INFINITY, this.wakeDuringTickMs));
  }
}
