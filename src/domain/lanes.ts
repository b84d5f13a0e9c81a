/**
 * A few loops at once over shared work (the warm-ups: src/worker/warm-up.ts,
 * src/api/warm-up.ts), each taking its next piece in turn until they are done.
 *
 * What both need, and is easy to get wrong: when one lane fails, the others stop at
 * their next turn rather than at once, and the caller goes on only once every lane has
 * ended, so that nothing of them is still running on a connection, a socket or a table
 * the caller is about to close or hand over.
 *
 * Pure: no I/O of its own.
 */

/**
 * Runs `count` copies of `lane` at once and waits for all of them. A lane that throws
 * calls `onFailure` first (the others read the state it sets, and end); resolves with
 * the first failure, or undefined when none failed.
 */
export async function runLanes(count: number, lane: () => Promise<void>, onFailure: () => void): Promise<PromiseRejectedResult | undefined> {
  const ended = await Promise.allSettled(
    Array.from({ length: count }, async () => {
      try {
        await lane();
      } catch (error) {
        onFailure();
        throw error;
      }
    }),
  );
  return ended.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
}
