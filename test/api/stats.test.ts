import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import { seedDueEscalations, workerFor } from '../support/worker.ts';

describe('GET /stats', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  it('reports pending, overdue with the age of the oldest, and what the index holds', async () => {
    const now = t.clock.now().getTime();
    const worker = workerFor(t);
    await worker.tick();
    await worker.indexRebuilt(); // a worker started: the index is complete
    await seedDueEscalations(t, 2, new Date(now - 90_000));
    await seedDueEscalations(t, 1, new Date(now - 1_000));
    await seedDueEscalations(t, 4, new Date(now + 60_000));
    await t.redis.zAdd(t.keys.inflight, { score: now + 30_000, value: 'claimed-by-someone' });

    const res = await t.api.get('/stats');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({
      at: new Date(now).toISOString(),
      escalations: { pending: 7, overdue: 3, oldest_overdue_age_ms: 90_000, quarantined: 0 },
      notifications: { pending: 0, due: 0, oldest_pending_age_ms: null, by_channel: {} },
      index: { pending: 7, in_flight: 1, complete: true },
    });
  });
});
