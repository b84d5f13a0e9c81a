/**
 * The worker as a real process: killed with SIGKILL right after it claimed, and run
 * once from cron. These use real time (the process has its own Postgres clock), so
 * the rows are seeded already due.
 */
import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import { finished, followOutput, spawnWorker } from '../support/processes.ts';
import { countByStatus, seedDueEscalations, workerFor } from '../support/worker.ts';

describe('the worker process', () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await createTestContext();
    t.clock.set(new Date());
  });
  afterEach(() => t.close());

  it('killed with SIGKILL right after claiming: after the lease, another worker executes its claims exactly once', async () => {
    const leaseMs = 30_000;
    // The survivor is up and trusts the index before the other worker claims.
    const survivor = workerFor(t, { leaseMs });
    await survivor.tick();
    await survivor.indexRebuilt();

    const ids = await seedDueEscalations(t, 20, new Date(Date.now() - 1_000));
    const crashed = await finished(spawnWorker(t, [], { KLAXON_FAULT: 'crash-after-claim', WORKER_LEASE: `${leaseMs}ms` }));
    expect(crashed.signal).to.equal('SIGKILL');

    // The claims sit in inflight; the rows are untouched.
    expect(await t.redis.zCard(t.keys.inflight)).to.equal(20);
    expect(await countByStatus(t.pool, 1)).to.deep.equal({ PENDING: 20 });

    t.clock.set(new Date(Date.now() + leaseMs - 2_000));
    expect((await survivor.tick()).executed, 'the lease still holds').to.equal(0);

    t.clock.set(new Date(Date.now() + leaseMs + 1_000));
    expect(await survivor.tick()).to.include({ claimed: 20, executed: 20 });
    expect(await survivor.tick()).to.include({ executed: 0 });
    expect(await countByStatus(t.pool, 1)).to.deep.equal({ EXECUTED: 20 });
    const events = await t.pool.query(`SELECT details->>'escalation_id' AS id FROM incident_events WHERE kind = 'escalated'`);
    expect(events.rows.map((row: { id: string }) => row.id)).to.have.members(ids);
    expect(await t.redis.zCard(t.keys.inflight)).to.equal(0);
  });

  it('--once executes what is due now, prints a summary line, and exits 0', async () => {
    await seedDueEscalations(t, 3, new Date(Date.now() - 500));
    await seedDueEscalations(t, 2, new Date(Date.now() + 3_600_000));
    const result = await finished(spawnWorker(t, ['--once']));
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^once: executed=3 cancelled=0 exhausted=0 skipped=0 took_ms=\d+\n$/);
    expect(await countByStatus(t.pool, 1)).to.deep.equal({ EXECUTED: 3, PENDING: 2 });
    expect(await countByStatus(t.pool, 2)).to.deep.equal({ PENDING: 3 });
    // The executed rows left the index and their level 2 entered it.
    expect(await t.redis.zCard(t.keys.pending)).to.equal(2 + 3);
  });

  it('refuses to start on a bad setting, naming it, with exit code 78', async () => {
    const result = await finished(spawnWorker(t, [], { ESCALATION_LEVELS: '5m,later' }));
    expect(result.code).to.equal(78);
    expect(result.stderr).to.include('ESCALATION_LEVELS: level 2: "later" is not a duration');
  });

  it('stops gracefully on SIGTERM: finishes, closes its connections and exits 0', async () => {
    const child = spawnWorker(t, [], { LOG_LEVEL: 'info' });
    const done = finished(child);
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('worker started')) resolve();
      });
    });
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code, `${String(result.signal)} ${result.stdout} ${result.stderr}`).to.equal(0);
    expect(result.stdout).to.include('SIGTERM: finishing in-flight work, then exiting');
  });

  it('plans its statements again once a storm has grown its tables (src/db/plan-freshness.ts)', async () => {
    const child = spawnWorker(t, [], { LOG_LEVEL: 'info' });
    const output = followOutput(child);
    const done = finished(child);
    try {
      await output.line(/worker started/);
      // Its warm-up ran on copies: the real tables have not grown.
      expect(output.lines.filter((line) => line.includes('tables grew'))).to.deep.equal([]);
      // A storm on a new install: the worker planned on empty tables.
      await t.ownerPool.query(
        `WITH incident AS (
           INSERT INTO incidents (title, severity, state, created_at, updated_at)
           SELECT 'storm', 'info', 'OPEN', now(), now() FROM generate_series(1, 10000) RETURNING id)
         SELECT count(*) FROM incident`,
      );
      const line = JSON.parse(await output.line(/tables grew/, 5_000)) as { grown: { table: string; fromPages: number; pages: number }[] };
      const incidents = line.grown.find((growth) => growth.table === 'incidents');
      expect(incidents?.fromPages).to.equal(0);
      // The storm's 10,000 rows.
      expect(incidents?.pages).to.be.at.least(100);
    } finally {
      child.kill('SIGTERM');
      await done;
    }
  });
});
