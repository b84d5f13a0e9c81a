/**
 * The local clock, corrected by its measured offset from Postgres' clock.
 *
 * Asking Postgres for the time on every call would add a round trip to every
 * decision; instead we measure the offset (NTP-style: server time minus the midpoint
 * of the round trip) and re-measure periodically. Of several samples we keep the one
 * with the shortest round trip, whose midpoint is the least uncertain. The error
 * bound is half that round trip: well under a millisecond on one host.
 */
import type pg from 'pg';
import type { Clock } from './clock.ts';
import type { Logger } from '../log/logger.ts';

const SAMPLES = 5;

export interface OffsetSample {
  offsetMs: number;
  roundTripMs: number;
}

export class PostgresClock implements Clock {
  private offsetMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
    private readonly syncIntervalMs: number,
    /** The host clock; tests pass a skewed one to prove the correction. */
    private readonly localNow: () => number = Date.now,
  ) {}

  now(): Date {
    return new Date(this.localNow() + this.offsetMs);
  }

  get offset(): number {
    return this.offsetMs;
  }

  /** Measures the offset now; throws if Postgres cannot be reached. */
  async sync(): Promise<OffsetSample> {
    let best: OffsetSample | undefined;
    for (let i = 0; i < SAMPLES; i += 1) {
      const sample = await this.sample();
      if (!best || sample.roundTripMs < best.roundTripMs) best = sample;
    }
    // SAMPLES >= 1, so best is set.
    const chosen = best as OffsetSample;
    if (Math.abs(chosen.offsetMs - this.offsetMs) > 1000) {
      this.logger.warn('local clock differs from the Postgres clock; using Postgres time', {
        offset_ms: Math.round(chosen.offsetMs),
      });
    }
    this.offsetMs = chosen.offsetMs;
    return chosen;
  }

  /** Syncs once (must succeed), then keeps re-syncing in the background. */
  async start(): Promise<OffsetSample> {
    const sample = await this.sync();
    this.timer = setInterval(() => {
      this.sync().catch((error: unknown) => {
        // Keep the last known offset: it drifts by microseconds per minute.
        this.logger.warn('clock sync with Postgres failed; keeping the last offset', { error });
      });
    }, this.syncIntervalMs);
    this.timer.unref();
    return sample;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sample(): Promise<OffsetSample> {
    const startedAt = performance.now();
    const result = await this.pool.query<{ ms: string }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8::text AS ms`);
    const roundTripMs = performance.now() - startedAt;
    const serverMs = Number(result.rows[0]?.ms);
    // The server read its clock, on average, half a round trip before we got the answer.
    const localAtServerRead = this.localNow() - roundTripMs / 2;
    return { offsetMs: serverMs - localAtServerRead, roundTripMs };
  }
}
