/** Waiting on a condition in tests: polled, bounded, never a fixed sleep where an event exists. */
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves once `condition` holds (polled every `everyMs`); fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, { timeoutMs = 5_000, everyMs = 10 } = {}): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await sleep(everyMs);
  }
}
