/**
 * The worker's loop when its ticks fail (src/worker/loop.ts): Postgres down is logged
 * as a state (one line when it starts, a count while it lasts, one line when it ends),
 * and any other failure each time it happens.
 */
import { expect } from 'chai';
import { WorkerLoop } from '../../src/worker/loop.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { waitFor } from '../support/waiting.ts';
import { TEST_WORKER_OPTIONS } from '../support/worker.ts';

/** What pg throws when Postgres does not answer. */
function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
}

describe('the worker loop when its ticks fail', function () {
  this.timeout(20_000);
  let t: TestContext;
  beforeEach(async () => {
    t = await createTestContext();
  });
  afterEach(() => t.close());

  it('logs Postgres down once when it starts and once when it ends, whatever the failed ticks; other failures each time', async () => {
    // Three ticks on a Postgres that does not answer, one that works, two that fail otherwise, then only working ones.
    const outcomes: (Error | null)[] = [refused(), refused(), refused(), null, new Error('a statement refused'), new Error('a statement refused')];
    let ticks = 0;
    const loop = new WorkerLoop(
      { redis: t.redis, keys: t.keys, clock: t.clock, logger: t.deps.logger, options: { ...TEST_WORKER_OPTIONS, maxSleepMs: 20 } },
      {
        tick: () => {
          const outcome = outcomes[ticks] ?? null;
          ticks += 1;
          return outcome ? Promise.reject(outcome) : Promise.resolve({ nextWakeMs: null });
        },
        wokenDuringTick: () => undefined,
      },
      200,
    );
    const lines = (message: string) => t.logs.filter((line) => line.message === message);
    await loop.start();
    try {
      await waitFor('the outage over and the other failures past', () => ticks > outcomes.length + 1 && lines('Postgres answers the worker again').length > 0);
    } finally {
      await loop.stop();
      await loop.close();
    }

    expect(lines('Postgres is unavailable to the worker: retrying its ticks with backoff')).to.have.length(1);
    const [ended] = lines('Postgres answers the worker again');
    expect(lines('Postgres answers the worker again')).to.have.length(1);
    expect(ended?.total).to.equal(3);
    // Summaries count the failed ticks after the first, never more than the outage had.
    const summed = lines('Postgres is still unavailable to the worker').reduce((sum, line) => sum + Number(line.count), 0);
    expect(summed).to.equal(2);
    expect(lines('worker tick failed; retrying').map((line) => line.consecutive_errors)).to.deep.equal([1, 2]);
  });
});
