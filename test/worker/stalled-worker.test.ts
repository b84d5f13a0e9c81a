/**
 * A stalled process holds nobody back (DESIGN.md, invariant 7; issue 10, item 4).
 * Measured before: a worker SIGSTOPped past its 5 s lease kept its transaction open
 * with the row locks of its batch; the worker that took its expired claims over
 * waited on those locks (escalations 8 s late, "slow batch took_ms 3014"), and
 * everything else in its batch waited with them.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { expect } from 'chai';
import type pg from 'pg';
import { HAND_BACK_MS } from '../../src/worker/redis-mode.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { executedOtherThanOnce, seedEscalationsDueAt } from '../support/own-worker.ts';
import { type Output, followOutput, spawnWorker } from '../support/processes.ts';
import { waitFor } from '../support/waiting.ts';
import { countByStatus, seedDueEscalations, workerFor } from '../support/worker.ts';

describe('a batch beside an incident another session holds', () => {
  let t: TestContext;
  let holder: pg.PoolClient | undefined;
  beforeEach(async () => {
    t = await createTestContext();
  });
  afterEach(async () => {
    await holder?.query('ROLLBACK').catch(() => undefined);
    holder?.release();
    holder = undefined;
    await t.close();
  });

  it('executes the rest of the batch at once and hands the held row back for shortly after, without waiting for the lock', async () => {
    // A lease of 2 s makes the lock timeout 500 ms: waiting on the lock would fail the whole batch.
    const worker = workerFor(t, { leaseMs: 2_000 });
    await worker.tick();
    await worker.indexRebuilt();
    const now = t.clock.now();
    const ids = await seedDueEscalations(t, 10, now);
    const [heldId] = ids;
    // Another session holds one incident (a stalled worker's transaction, a slow transition).
    holder = await t.pool.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM incidents WHERE id = (SELECT incident_id FROM escalations WHERE id = $1) FOR UPDATE`, [heldId]);

    // Waiting on that lock would fail the whole batch at the lock timeout (500 ms here).
    expect(await worker.tick()).to.include({ claimed: 10, executed: 9, handedBack: 1 });
    expect(await t.redis.zScore(t.keys.pending, String(heldId)), 'handed back for shortly after').to.equal(now.getTime() + HAND_BACK_MS);
    expect(await t.redis.zCard(t.keys.inflight)).to.equal(0);

    // Still held: handed back again, never executed under someone else's lock.
    t.clock.advance(HAND_BACK_MS);
    expect(await worker.tick()).to.include({ executed: 0, handedBack: 1 });

    await holder.query('ROLLBACK');
    t.clock.advance(HAND_BACK_MS);
    expect(await worker.tick()).to.include({ executed: 1, handedBack: 0 });
    expect(await countByStatus(t.pool, 1)).to.deep.equal({ EXECUTED: 10 });
    expect(await executedOtherThanOnce(t.pool)).to.deep.equal([]);
  });
});

describe('a worker process stopped (SIGSTOP) past its lease while it holds claims', function () {
  this.timeout(90_000);
  /** Short, to keep the test fast; the transaction bounds follow from it (idle in transaction: 500 ms). */
  const LEASE_MS = 1_000;
  const ROWS = 20;
  let t: TestContext;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    t = await createTestContext();
    t.clock.set(new Date());
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, 'exit');
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    }
    await t.close();
  });

  function start(env: Record<string, string>): { child: ChildProcess; out: Output } {
    const child = spawnWorker(t, [], { WORKER_LEASE: `${LEASE_MS}ms`, LOG_LEVEL: 'info', ...env });
    children.push(child);
    return { child, out: followOutput(child) };
  }

  async function escalated(): Promise<{ id: string; occurred_at: Date }[]> {
    return (
      await t.pool.query<{ id: string; occurred_at: Date }>(
        `SELECT details->>'escalation_id' AS id, occurred_at FROM incident_events WHERE kind = 'escalated' ORDER BY id`,
      )
    ).rows;
  }

  it('the other worker executes them within lease + 100 ms of their due time, and the stopped one, resumed, changes nothing', async () => {
    const stalling = start({ KLAXON_FAULT: 'stall-before-commit' });
    const other = start({});
    await Promise.all([stalling.out.line(/"worker started"/), other.out.line(/"worker started"/)]);
    await waitFor('the index rebuilt at start-up', async () => (await t.redis.exists(t.keys.indexMarker)) === 1, { timeoutMs: 10_000 });

    // The other worker is paused while the rows fall due, so that the stalling one claims them all.
    other.child.kill('SIGSTOP');
    const dueAt = new Date(Date.now() + 300);
    const ids = await seedEscalationsDueAt(
      t,
      Array.from({ length: ROWS }, () => dueAt),
    );
    await t.redis.publish(t.keys.wakeChannel, String(dueAt.getTime()));

    // It claimed and executed them, and holds its transaction open with their incidents locked.
    expect(await stalling.out.line(/^stalling before commit/)).to.equal(`stalling before commit: ${ROWS} escalations`);
    stalling.child.kill('SIGSTOP');
    other.child.kill('SIGCONT');

    let visibleAt = 0;
    await waitFor(
      'the other worker executing them',
      async () => {
        const done = (await countByStatus(t.pool, 1)).EXECUTED === ROWS;
        if (done) visibleAt = Date.now();
        return done;
      },
      { timeoutMs: LEASE_MS + 5_000, everyMs: 5 },
    );
    const { rows } = await t.pool.query<{ id: string; lateness_ms: number }>(
      `SELECT id, (extract(epoch FROM executed_at - scheduled_at) * 1000)::float8 AS lateness_ms FROM escalations WHERE escalation_level = 1`,
    );
    const lateness = rows.map((row) => row.lateness_ms);
    const committedWithinMs = visibleAt - dueAt.getTime();
    // Taken over once the lease ran out (not before: the claims were the stalled worker's), and executed at once.
    expect(Math.min(...lateness), 'taken over after the lease').to.be.at.least(LEASE_MS - 20);
    expect(Math.max(...lateness), `executed_at - scheduled_at (committed and seen ${committedWithinMs} ms after due)`).to.be.at.most(LEASE_MS + 100);
    // Seen committed (polled every 5 ms): the commit, too, came within the bound, with the poll's slack.
    expect(committedWithinMs, 'seen committed, ms after due').to.be.at.most(LEASE_MS + 150);
    const before = await escalated();
    expect(before.map((event) => event.id).sort()).to.deep.equal([...ids].sort());

    // Resumed, the stalled worker finds its transaction ended by Postgres: its commit changes nothing.
    stalling.child.kill('SIGCONT');
    await stalling.out.line(/this worker stalled inside a transaction past its bound/);
    expect(await escalated(), 'the same escalated events, once each').to.deep.equal(before);
    expect(await executedOtherThanOnce(t.pool)).to.deep.equal([]);
    expect(await countByStatus(t.pool, 2), 'each next level scheduled once').to.deep.equal({ PENDING: ROWS });
    expect(
      other.out.lines.filter((line) => line.includes('"slow batch"')),
      'nobody waited on a lock',
    ).to.deep.equal([]);

    // Both still stop gracefully.
    const exits = [stalling.child, other.child].map((child) => once(child, 'exit'));
    stalling.child.kill('SIGTERM');
    other.child.kill('SIGTERM');
    expect((await Promise.all(exits)).map(([code]) => code as number | null)).to.deep.equal([0, 0]);
  });
});
