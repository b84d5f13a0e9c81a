/**
 * The worker's warm-up (src/worker/warm-up.ts): synthetic escalations executed by the
 * real executor in transactions that are always rolled back, only while nothing is due.
 */
import { expect } from 'chai';
import type pg from 'pg';
import { createPool } from '../../src/db/pool.ts';
import { DUE_MARGIN_MS, type WarmUpDeps, warmUp } from '../../src/worker/warm-up.ts';
import { APP_ROLE, TEST_LEVEL_DELAYS_MS, type TestContext, createTestContext } from '../support/context.ts';
import { waitFor } from '../support/waiting.ts';
import { TEST_WORKER_OPTIONS } from '../support/worker.ts';

describe('the worker warm-up', () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await createTestContext();
  });
  afterEach(async () => {
    await t.close();
  });

  function deps(warmUpCount: number, overrides: Partial<WarmUpDeps> = {}): WarmUpDeps {
    return {
      pool: t.pool,
      clock: t.clock,
      timetable: { levelDelaysMs: TEST_LEVEL_DELAYS_MS },
      logger: t.deps.logger,
      options: { ...TEST_WORKER_OPTIONS, warmUp: warmUpCount },
      ...overrides,
    };
  }

  /** Everything an execution writes, counted (as the owner: every row, whoever may read it). */
  async function stored() {
    const { rows } = await t.ownerPool.query<{ incidents: number; escalations: number; events: number; notifications: number }>(
      `SELECT (SELECT count(*)::int FROM incidents) AS incidents, (SELECT count(*)::int FROM escalations) AS escalations,
              (SELECT count(*)::int FROM incident_events) AS events, (SELECT count(*)::int FROM notifications) AS notifications`,
    );
    return { ...rows[0], indexed: await t.redis.zCard(t.keys.pending) };
  }

  const messages = (from: number) => t.logs.slice(from).map((line) => line.message);

  it('executes the synthetic escalations with the real executor, and commits none of it', async () => {
    // Something stored already, so that "unchanged" is not "empty".
    await t.api.post('/incidents', { title: 'disk 91% on db-3', severity: 'warning', escalate: true });
    const before = await stored();
    expect(before.escalations).to.equal(1);
    const logsBefore = t.logs.length;

    const outcome = await warmUp(deps(250));

    // Three rounds of at most 100 over the two lanes (the worker's concurrency), every row executed.
    expect(outcome).to.include({ executions: 250, ended: 'done' });
    expect(await stored()).to.deep.equal(before);
    expect(messages(logsBefore)).to.deep.equal(['warmed up']);
    expect(t.logs.at(-1)).to.include({ level: 'info', executions: 250, rolled_back: true, ended: 'done' });
  });

  it(`does nothing while an escalation is due within ${DUE_MARGIN_MS} ms: the worker starts on the real work at once`, async () => {
    const opened = await t.api.post('/incidents', { title: 'api 5xx above 2%', severity: 'critical', escalate: true });
    expect(opened.status).to.equal(201);
    // Level 1 falls due 5 min after the escalation started: half a margin before that, it counts as due.
    t.clock.advance((TEST_LEVEL_DELAYS_MS[0] ?? 0) - DUE_MARGIN_MS / 2);
    const before = await stored();
    const logsBefore = t.logs.length;

    const outcome = await warmUp(deps(1_000));

    expect(outcome).to.include({ executions: 0, ended: 'due' });
    expect(await stored()).to.deep.equal(before);
    expect(messages(logsBefore)).to.deep.equal(['warm-up stopped: escalations are due']);
  });

  it('stops starting rounds once the process is told to stop (SIGTERM during start-up), and logs nothing of it', async () => {
    const stopping = new AbortController();
    const before = await stored();
    const logsBefore = t.logs.length;
    const warming = warmUp({ ...deps(10_000), signal: stopping.signal });
    // Let it take a round or two, then stop it.
    await waitFor('a round under way', () => t.pool.totalCount - t.pool.idleCount > 0);
    stopping.abort();
    const outcome = await warming;
    expect(outcome.ended).to.equal('stopped');
    expect(outcome.executions).to.be.below(10_000);
    expect(await stored()).to.deep.equal(before);
    expect(messages(logsBefore)).to.deep.equal([]);
  });

  it('a lane that fails ends the others: when it returns, no round of it is still running', async () => {
    // The clock fails its fifth reading: one lane's round throws while the other's runs.
    let readings = 0;
    const clock = {
      now: () => {
        readings += 1;
        if (readings === 5) throw new Error('the clock broke');
        return t.clock.now();
      },
    };
    const before = await stored();
    const logsBefore = t.logs.length;
    const outcome = await warmUp({ ...deps(10_000), clock });
    expect(outcome.ended).to.equal('failed');
    expect(t.pool.totalCount - t.pool.idleCount, 'connections still in a round').to.equal(0);
    expect(messages(logsBefore)).to.deep.equal(['the warm-up failed; the worker starts without it']);
    expect(await stored()).to.deep.equal(before);
  });

  /** A pool whose every connection is refused (nothing listens on port 1). */
  async function withRefusedPool(work: (pool: pg.Pool) => Promise<void>): Promise<void> {
    const pool = createPool({
      databaseUrl: 'postgres://nobody@127.0.0.1:1/none',
      applicationName: 'klaxon-test-refused',
      role: APP_ROLE,
      logger: t.deps.logger,
    });
    try {
      await work(pool);
    } finally {
      await pool.end();
    }
  }

  it('is off with WORKER_WARM_UP=0: not even a query', () =>
    withRefusedPool(async (pool) => {
      const logsBefore = t.logs.length;
      expect(await warmUp(deps(0, { pool }))).to.include({ executions: 0, ended: 'off' });
      expect(pool.totalCount).to.equal(0);
      expect(messages(logsBefore)).to.deep.equal([]);
    }));

  it('fails with one warning and lets the worker start when Postgres refuses it', () =>
    withRefusedPool(async (pool) => {
      const logsBefore = t.logs.length;
      expect(await warmUp(deps(1_000, { pool }))).to.include({ executions: 0, ended: 'failed' });
      expect(messages(logsBefore)).to.deep.equal(['the warm-up failed; the worker starts without it']);
    }));
});
