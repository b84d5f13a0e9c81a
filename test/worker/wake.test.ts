/**
 * The loop on real time: a worker sleeps until the earliest due escalation, and a
 * nudge wakes it early when one due sooner is added, with no fixed poll.
 */
import { expect } from 'chai';
import type { TickSummary, Worker } from '../../src/worker/worker.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { workerFor } from '../support/worker.ts';

const systemClock = { now: () => new Date() };

describe('the worker loop', () => {
  let t: TestContext;
  let worker: Worker;
  let ticks: TickSummary[];
  let onExecuted: (() => void) | undefined;
  beforeEach(async () => {
    t = await createTestContext({ levelDelaysMs: [300, 60_000, 60_000] });
    ticks = [];
    worker = workerFor(t, { maxSleepMs: 60_000 }, systemClock, {
      afterTick: (summary) => {
        ticks.push(summary);
        if (summary.executed > 0) onExecuted?.();
      },
    });
  });
  afterEach(async () => {
    await worker.stop();
    await t.close();
  });

  const executed = () => new Promise<void>((resolve) => (onExecuted = resolve));
  /** Resolves once the worker has finished its start-up and gone to sleep with nothing to do. */
  const asleep = () =>
    new Promise<void>((resolve) => {
      const check = () => (ticks.some((tick) => tick.nextWakeMs === null) ? resolve() : setTimeout(check, 5));
      check();
    });

  it('sleeping with nothing to do (up to a minute), is woken by a new escalation and fires it on time', async () => {
    await worker.start();
    await asleep(); // start-up done (index rebuilt), nothing due: asleep for up to 60 s
    const ticksBefore = ticks.length;

    const fired = executed();
    t.clock.set(new Date());
    const created = await t.api.post('/incidents', { title: 'wake me', escalate: true });
    await fired;

    const [row] = (
      await t.pool.query<{ scheduled_at: Date; executed_at: Date }>(
        `SELECT scheduled_at, executed_at FROM escalations WHERE incident_id = $1 AND escalation_level = 1`,
        [created.body.id],
      )
    ).rows;
    const latenessMs = (row?.executed_at.getTime() ?? 0) - (row?.scheduled_at.getTime() ?? 0);
    expect(latenessMs, 'never early').to.be.at.least(0);
    expect(latenessMs, 'on time, not after a poll interval').to.be.below(100);
    // Woken by the nudge, it slept until the due time: no polling in between.
    expect(ticks.length - ticksBefore).to.be.at.most(3);
  });

  it('stops promptly while sleeping, leaving no timer behind', async () => {
    await worker.start();
    await asleep();
    const startedAt = performance.now();
    await worker.stop();
    expect(performance.now() - startedAt).to.be.below(1_000);
  });
});
