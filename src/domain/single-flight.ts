/**
 * One lookup at a time per key: callers that ask for a key while its lookup is in
 * flight share that lookup's promise instead of starting their own.
 *
 * Why: the caches in front of Postgres (API tokens and integration keys, src/auth/;
 * a service's facts, src/commands/intake.ts) are empty when a process starts and
 * expire as they must. Without this, every request that arrives while a key is being
 * looked up looks it up again: at 500 alerts a second over 50 keys, the first second
 * after a start sent hundreds of identical reads to a pool of ten connections, and the
 * alerts waited behind them for half a second (bench --intake, issue 12).
 *
 * Pure: no I/O of its own, and a failure is shared as a success is (the next call
 * after it settles starts a new lookup).
 */
export class SingleFlight<V> {
  private readonly inFlight = new Map<string, Promise<V>>();

  /** `lookup()`'s promise, or the one already in flight for `key`. */
  run(key: string, lookup: () => Promise<V>): Promise<V> {
    const current = this.inFlight.get(key);
    if (current) return current;
    const started: Promise<V> = lookup().finally(() => {
      if (this.inFlight.get(key) === started) this.inFlight.delete(key);
    });
    this.inFlight.set(key, started);
    return started;
  }

  /**
   * Lets the next call of every key start a new lookup: what is in flight may have read
   * what just changed (a credential revoked). Those lookups still settle for whoever
   * waits on them.
   */
  clear(): void {
    this.inFlight.clear();
  }

  /**
   * Starts `lookup` for `key` unless one is in flight, and does not wait for it: a
   * refresh in the background, whose failure is for the next caller to meet.
   */
  refresh(key: string, lookup: () => Promise<V>): void {
    if (!this.inFlight.has(key)) this.run(key, lookup).catch(() => undefined);
  }
}
