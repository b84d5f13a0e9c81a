/**
 * The bench's watch of WAL flush waits (scripts/bench/wal-waits.ts): it must never end
 * the bench's process, and must say when it saw only part of the run.
 */
import { expect } from 'chai';
import { describeWalWaits, watchWalWaits } from '../../scripts/bench/wal-waits.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { waitFor } from '../support/waiting.ts';

describe('the bench watch of WAL flush waits', () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await createTestContext();
  });
  afterEach(() => t.close());

  const watcherBackends = async () =>
    (await t.ownerPool.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'klaxon-bench-wal-waits'")).rows;

  it('samples while it runs, and reports no wait on an idle database', async () => {
    const watch = await watchWalWaits(t.databaseUrl);
    await waitFor('its connection', async () => (await watcherBackends()).length === 1);
    const waits = await watch.stop();
    expect(waits.samples).to.be.above(0);
    expect(waits).to.deep.include({ heldUp: [] });
    expect(waits.endedEarly).to.equal(undefined);
    expect(describeWalWaits(waits, Date.now())).to.match(/^COMMITs held up ≥ 100 ms by the WAL's flush \(sampled every 20 ms, \d+ samples\): 0$/);
  });

  it('survives losing its connection (the process goes on), and says the watch stopped early', async () => {
    const watch = await watchWalWaits(t.databaseUrl);
    await waitFor('its connection', async () => (await watcherBackends()).length === 1);
    await t.ownerPool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'klaxon-bench-wal-waits'");
    await waitFor('its connection gone', async () => (await watcherBackends()).length === 0);
    const waits = await watch.stop();
    expect(waits.endedEarly).to.equal('terminating connection due to administrator command');
    expect(describeWalWaits(waits, Date.now())).to.match(/; WARNING: the watch stopped early: "terminating connection due to administrator command"$/);
  });
});
