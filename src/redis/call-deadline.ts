/**
 * The deadline of a Redis client's calls (REDIS_COMMAND_TIMEOUT), and what missing it
 * means. Issue 10: "Redis hung (SIGSTOP for 6 s): nothing was executed while Redis
 * hung, escalations due then were up to 6.3 s late, and API calls waited as long".
 *
 * node-redis' own command timeout only covers a command waiting to be written:
 * commands-queue.js drops its timer once the command is on the socket, so a Redis that
 * stops answering with its connection open (SIGSTOP, a stuck fork, a saturated host)
 * holds every caller for as long as it hangs. Here the whole round trip gets the
 * deadline, with the same helper as everything else that waits (src/clock/deadline.ts).
 *
 * A call that misses the deadline marks the connection hung. Until Redis answers
 * anything again (the late reply of that very call, typically) or the client
 * reconnects, calls are still sent but nobody waits for them: they fail at once. So
 * a hung Redis costs a request or a tick one deadline, not one per call (an API
 * request makes two: the rate limit and the index update), and what was sent still
 * lands, in order, when Redis resumes: the index writes after commit are not lost.
 */
import { ErrorReply } from 'redis';
import { DeadlineError, withDeadline } from '../clock/deadline.ts';
import { EpisodeLog } from '../log/episode.ts';
import type { Logger } from '../log/logger.ts';

/** A call refused at once because Redis has not answered since an earlier call missed its deadline. */
export class RedisHungError extends Error {
  constructor(deadlineMs: number, silentForMs: number) {
    super(`Redis has not answered for ${silentForMs} ms (a call missed the ${deadlineMs} ms deadline); not waiting for it`);
    this.name = 'RedisHungError';
  }
}

export class CallDeadline {
  /** When a call first missed the deadline (performance.now()), while no answer has come since. */
  private hungSince: number | undefined;
  private readonly hung: EpisodeLog;

  constructor(
    /** REDIS_COMMAND_TIMEOUT: the longest any call waits. */
    readonly ms: number,
    logger: Logger,
  ) {
    this.hung = new EpisodeLog(
      logger,
      {
        level: 'warn',
        started: 'Redis did not answer within the command deadline; until it answers again, Redis calls fail at once',
        ended: 'Redis answers again',
      },
      1_000,
      () => this.hungSince !== undefined,
    );
  }

  /** Runs one call (a command, a script, a MULTI, a pipeline of a few) under the deadline. */
  run<T>(call: () => Promise<T>): Promise<T> {
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    // Any reply, an error reply (LOADING, OOM, WRONGTYPE) included, proves Redis answers.
    pending.then(
      () => this.answered(),
      (error: unknown) => {
        if (error instanceof ErrorReply) this.answered();
      },
    );
    if (this.hungSince !== undefined) {
      this.hung.record();
      return Promise.reject(new RedisHungError(this.ms, Math.round(performance.now() - this.hungSince)));
    }
    return withDeadline(pending, this.ms, `Redis did not answer within ${this.ms} ms`).catch((error: unknown) => {
      if (error instanceof DeadlineError) this.missed();
      throw error;
    });
  }

  /** A new connection is ready: whatever hung went with the old one. */
  reconnected(): void {
    this.answered();
  }

  /** Whether calls fail at once right now. */
  get isHung(): boolean {
    return this.hungSince !== undefined;
  }

  private missed(): void {
    if (this.hungSince === undefined) this.hungSince = performance.now();
    this.hung.record({ deadline_ms: this.ms });
  }

  private answered(): void {
    this.hungSince = undefined;
  }
}
