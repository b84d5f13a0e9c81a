/**
 * The escalation worker: sleeps until the earliest due escalation (woken early by a
 * pub/sub nudge when one due sooner is added), claims due ids from Redis in batches,
 * executes them, settles the claims, and goes back to sleep. With Redis down, hung (a
 * call missed REDIS_COMMAND_TIMEOUT) or loading, it claims straight from Postgres
 * (degraded mode) and goes back to Redis, after rebuilding the index, when Redis
 * answers again.
 *
 * The parts, one file each: redis-mode.ts (claim from the index, settle, keep the
 * index trusted, with the state machine of index-trust.ts), degraded-mode.ts (claim
 * from Postgres), batches.ts and transaction.ts (run a batch so that neither a bad row
 * nor a stalled session holds the others back), loop.ts (timer, wake-ups, backoff,
 * shutdown). tick() is one pass and is what tests call; start()/stop() run the loop.
 */
import { RedisUnavailableError } from '../engine/index/queue.ts';
import { EpisodeLog } from '../log/episode.ts';
import { BatchRunner } from './batches.ts';
import { DegradedMode } from './degraded-mode.ts';
import { type TickSummary, type WorkerDeps, type WorkerMode, emptySummary } from './deps.ts';
import { WorkerLoop } from './loop.ts';
import { RedisMode } from './redis-mode.ts';

export type { TickSummary, WorkerDeps, WorkerHooks, WorkerMode, WorkerOptions } from './deps.ts';

export class Worker {
  private mode: WorkerMode = 'redis';
  private readonly redisMode: RedisMode;
  private readonly degradedMode: DegradedMode;
  private readonly loop: WorkerLoop;
  /** Redis unavailable to this worker: one line when it falls back to Postgres, one when Redis has served it for an interval. */
  private readonly unavailable: EpisodeLog;

  constructor(private readonly deps: WorkerDeps) {
    const runner = new BatchRunner(deps);
    this.redisMode = new RedisMode(deps, runner);
    this.degradedMode = new DegradedMode(deps, runner);
    this.loop = new WorkerLoop(deps, { tick: () => this.tick(), wokenDuringTick: () => this.redisMode.nudge() });
    this.unavailable = new EpisodeLog(
      deps.logger,
      {
        level: 'warn',
        started: 'Redis is unavailable: claiming escalations from Postgres until it returns',
        ended: 'Redis is back: claiming escalations from Redis again',
      },
      1_000,
      () => this.mode === 'degraded',
    );
    // A reconnection may be to a restarted Redis: check its run id on the next tick
    // (and, when the loop runs, look at once: degraded mode ends there).
    deps.redis.on('ready', this.onRedisReady);
  }

  /** One pass: execute everything due now, then say when to come back. */
  async tick(): Promise<TickSummary> {
    const startedAt = performance.now();
    const summary = emptySummary(this.mode);
    if (this.mode === 'redis') {
      try {
        await this.redisMode.checkRestarted();
        summary.nextWakeMs = await this.redisMode.drain(summary);
        this.redisMode.maintain();
        if (!this.redisMode.trust.trusted) {
          // The index may miss rows: execute what is due from Postgres too, every tick until it is rebuilt.
          const fromPostgres = await this.degradedMode.drain(summary, { syncIndex: true });
          summary.nextWakeMs = Math.min(summary.nextWakeMs ?? Number.POSITIVE_INFINITY, fromPostgres);
        }
      } catch (error) {
        if (!(error instanceof RedisUnavailableError)) throw error;
        this.enterDegradedMode(error);
      }
    }
    if (this.mode === 'degraded') {
      summary.nextWakeMs = await this.degradedMode.drain(summary, { syncIndex: false });
      // Only after the due work is done. Free while Redis is down (not connected) or
      // known to hang (calls fail at once until it answers); otherwise at most one deadline.
      const runId = await this.redisMode.answers();
      if (runId !== null) this.leaveDegradedMode(runId);
    }
    summary.mode = this.mode;

    this.deps.hooks?.afterTick?.(summary);
    const tookMs = performance.now() - startedAt;
    if (tookMs > this.deps.options.slowTickMs) {
      this.deps.logger.warn('slow tick', { took_ms: Math.round(tookMs), ...summary });
    }
    return summary;
  }

  /** Executes every escalation due now straight from Postgres, then returns (cron mode). */
  async runOnce(): Promise<TickSummary> {
    const summary = emptySummary('degraded');
    summary.nextWakeMs = await this.degradedMode.drain(summary, { syncIndex: true });
    return summary;
  }

  /** For tests: resolves when the background rebuild of the index, if any, has finished. */
  async indexRebuilt(): Promise<void> {
    await this.redisMode.indexRebuilt();
  }

  /** Runs the loop until stop(). */
  async start(): Promise<void> {
    await this.loop.start();
  }

  /** Something due at `dueMs` was added: come back by then. */
  wake(dueMs: number): void {
    this.loop.wake(dueMs);
  }

  /** Stops claiming, lets the batches in flight finish (they settle their own claims), and disconnects the subscriber. */
  async stop(): Promise<void> {
    this.deps.redis.off('ready', this.onRedisReady);
    await this.loop.stop();
    await this.redisMode.idle();
    await this.loop.close();
  }

  private readonly onRedisReady = () => {
    this.redisMode.trust.redisReconnected();
    this.loop.wake(0);
  };

  /**
   * Logged as an episode: a line now unless one is open, and the line saying Redis is
   * back once it has served a whole interval, so a Redis that flaps (answers PING,
   * fails claims) does not log two lines per tick.
   */
  private enterDegradedMode(error: RedisUnavailableError): void {
    this.mode = 'degraded';
    this.unavailable.record({ error: error.message });
  }

  private leaveDegradedMode(runId: string): void {
    this.mode = 'redis';
    this.redisMode.returned(runId);
    this.deps.logger.debug('Redis answers: claiming escalations from Redis again');
  }
}
