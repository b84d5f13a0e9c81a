/** Waiting for something with a deadline, without leaving a timer behind. */

/**
 * The promise's outcome, or a rejection with `message` after `ms`. The work itself is
 * not cancelled: it may still finish later, unobserved.
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number, message = `timed out after ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
