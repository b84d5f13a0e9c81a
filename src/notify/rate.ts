/**
 * A per-provider rate in each notifier (issue 11: "a global rate per provider,
 * configurable"): a token bucket of `perSecond` tokens refilled continuously, one per
 * send. A send that finds the bucket empty waits for its token (the providers' own
 * limits, e.g. Twilio's per-number rate, are not ours to break; waiting here is cheaper
 * than a 429 and its backoff). Per process: N notifiers send at most N x the rate.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class ProviderRate {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly nowMs: () => number = () => performance.now(),
    private readonly wait: (ms: number, signal?: AbortSignal) => Promise<unknown> = (ms, signal) => sleep(ms, undefined, { signal }),
  ) {}

  /** Resolves when `provider` may send one more (at once while under the rate). */
  async take(provider: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const delay = this.tryTake(provider);
      if (delay === 0) return;
      await this.wait(delay, signal);
    }
  }

  /** 0 when a token was taken; otherwise how long until one is there (ms). */
  tryTake(provider: string): number {
    if (this.perSecond <= 0) return 0;
    const now = this.nowMs();
    const bucket = this.buckets.get(provider) ?? { tokens: this.perSecond, at: now };
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(provider, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / this.perSecond) * 1000);
  }
}
