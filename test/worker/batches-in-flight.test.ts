/**
 * When a worker claims its next batch while one is still in flight (src/worker/redis-mode.ts):
 * at once with a backlog, else when the one in flight has committed, or once it has
 * been in flight for WORKER_OVERLAP_AFTER. On the system clock: the gathering is a
 * real wait.
 */
import { expect } from 'chai';
import type { WorkerOptions } from '../../src/worker/deps.ts';
import type { Worker } from '../../src/worker/worker.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { countByStatus, seedDueEscalations, workerFor } from '../support/worker.ts';

const systemClock = { now: () => new Date() };
/** Long enough that it never ends a wait in these tests: what ends it is a commit. */
const NEVER_MS = 60_000;
/** The longest a test waits for something it is sure of before failing. */
const SURE_WITHIN_MS = 5_000;
/**
 * When the rows that fall due during a test are due, from their seeding: the first
 * claim must come before (it is the next statement), or it takes them too and the
 * test fails on its first step, saying so.
 */
const LATER_MS = 250;

/** What the batches did, in order: `claim` (with its size), `commit` (reached, held there), `released`. */
type Step = { step: 'claim' | 'commit' | 'released'; batch: number; rows: number; atMs: number };

describe('the batches a worker has in flight', () => {
  let t: TestContext;
  let steps: Step[];
  /** Set per test: how long batch N is held just before its COMMIT. */
  let hold: (batch: number) => Promise<void>;
  beforeEach(async () => {
    t = await createTestContext();
    t.clock.set(new Date());
    steps = [];
    hold = () => Promise.resolve();
  });
  afterEach(async () => {
    await t.close();
  });

  /** A worker in Redis mode that records its claims and commits in `steps`, and holds each batch as `hold` says. */
  async function recordingWorker(options: Partial<WorkerOptions>): Promise<Worker> {
    let claims = 0;
    const batchOf = new Map<string, number>();
    const worker = workerFor(t, options, systemClock, {
      afterClaim: (ids) => {
        claims += 1;
        for (const id of ids) batchOf.set(id, claims);
        steps.push({ step: 'claim', batch: claims, rows: ids.length, atMs: performance.now() });
      },
      beforeCommit: async (ids) => {
        const batch = batchOf.get(ids[0] ?? '') ?? 0;
        steps.push({ step: 'commit', batch, rows: ids.length, atMs: performance.now() });
        await hold(batch);
        steps.push({ step: 'released', batch, rows: ids.length, atMs: performance.now() });
      },
    });
    await worker.tick(); // start-up: the index is rebuilt, and trusted from here on
    await worker.indexRebuilt();
    return worker;
  }

  const untilTime = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms - Date.now())));
  const sequence = () => steps.map(({ step, batch, rows }) => `${step} ${batch}: ${rows}`);
  const after = (ms: number) => new Date(Date.now() + ms);
  /** Resolves when `condition` holds, checked at each step; rejects after SURE_WITHIN_MS. */
  const until = (what: string, condition: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`waited ${SURE_WITHIN_MS} ms for ${what}`)), SURE_WITHIN_MS);
      const check = () => {
        if (!condition()) return setTimeout(check, 2);
        clearTimeout(deadline);
        resolve();
      };
      check();
    });

  it('without a backlog, gathers what falls due while a batch commits into the next batch, claimed once that one has committed', async () => {
    const worker = await recordingWorker({ batchSize: 10, overlapAfterMs: NEVER_MS });
    await seedDueEscalations(t, 3, after(-1_000));
    // Due while the first batch is held (LATER_MS leaves the first claim that long to
    // happen without them): claiming as soon as they fall due would make a second batch beside it.
    const laterDue = after(LATER_MS);
    await seedDueEscalations(t, 3, laterDue);
    hold = (batch) => (batch === 1 ? untilTime(laterDue.getTime() + 300) : Promise.resolve());

    expect(await worker.tick()).to.include({ claimed: 6, executed: 6 });
    expect(sequence()).to.deep.equal(['claim 1: 3', 'commit 1: 3', 'released 1: 3', 'claim 2: 3', 'commit 2: 3', 'released 2: 3']);
    expect(await countByStatus(t.pool, 1)).to.deep.equal({ EXECUTED: 6 });
  });

  it('with a backlog (a full claim), claims the next batch while the first is still in flight', async () => {
    const worker = await recordingWorker({ batchSize: 3, overlapAfterMs: NEVER_MS });
    await seedDueEscalations(t, 6, after(-1_000));
    // The first batch commits only once the second has been claimed: waiting for it would never end.
    hold = (batch) => (batch === 1 ? until('the second claim', () => steps.some((s) => s.step === 'claim' && s.batch === 2)) : Promise.resolve());

    expect(await worker.tick()).to.include({ claimed: 6, executed: 6 });
    const order = sequence();
    expect(order.indexOf('claim 2: 3'), 'the second claim, before the first batch committed').to.be.within(0, order.indexOf('released 1: 3'));
    expect(await countByStatus(t.pool, 1)).to.deep.equal({ EXECUTED: 6 });
  });

  it('without a backlog, lets the next batch through once the one in flight has taken WORKER_OVERLAP_AFTER, and it commits first', async () => {
    // Longer than LATER_MS: the later rows are due before the first batch has taken it.
    const OVERLAP_AFTER_MS = 2 * LATER_MS;
    const worker = await recordingWorker({ batchSize: 10, overlapAfterMs: OVERLAP_AFTER_MS });
    await seedDueEscalations(t, 3, after(-1_000));
    await seedDueEscalations(t, 3, after(LATER_MS));
    // The first batch is stuck (a COMMIT waiting on the disk) until the second has committed.
    hold = (batch) => (batch === 1 ? until('the second batch to commit', () => steps.some((s) => s.step === 'released' && s.batch === 2)) : Promise.resolve());

    expect(await worker.tick()).to.include({ claimed: 6, executed: 6 });
    expect(sequence()).to.deep.equal(['claim 1: 3', 'commit 1: 3', 'claim 2: 3', 'commit 2: 3', 'released 2: 3', 'released 1: 3']);
    const claimedAt = steps.filter((s) => s.step === 'claim').map((s) => s.atMs);
    // A timer never fires early, give or take the whole milliseconds it and the clock are kept in.
    expect((claimedAt[1] ?? 0) - (claimedAt[0] ?? 0), 'ms between the claims').to.be.at.least(OVERLAP_AFTER_MS - 5);
    expect(await countByStatus(t.pool, 1)).to.deep.equal({ EXECUTED: 6 });
  });
});
