/** Waiting: for something with a deadline (without leaving a timer behind), and before trying again. */

/** What withDeadline rejects with when the time is up (the work itself may still finish, unobserved). */
export class DeadlineError extends Error {
  constructor(
    message: string,
    readonly ms: number,
  ) {
    super(message);
    this.name = 'DeadlineError';
  }
}

/**
 * The promise's outcome, or a DeadlineError with `message` after `ms`. The work itself
 * is not cancelled: it may still finish later, unobserved.
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number, message = `timed out after ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(message, ms)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Backoff {
  /** The wait before the first retry (before jitter). */
  baseMs: number;
  /** The longest wait, however many attempts failed. */
  capMs: number;
}

/**
 * How long to wait after `failures` consecutive failures (1, 2, ...): doubling from
 * baseMs up to capMs, then jittered down to between half and all of it, so that
 * processes that failed together (every worker when Redis restarts) do not all retry
 * in the same instant.
 */
export function backoffMs(failures: number, { baseMs, capMs }: Backoff, random: () => number = Math.random): number {
  const exponent = Math.max(0, failures - 1);
  return Math.min(baseMs * 2 ** exponent, capMs) * (0.5 + random() / 2);
}
