/**
 * The worker's warm-up (src/worker/warm-up.ts): synthetic escalations executed by the
 * real executor on copies of the tables, only while nothing is due, then their
 * statements planned on each of the worker's connections.
 */
import { expect } from 'chai';
import type pg from 'pg';
import { RUNS_PER_STATEMENT } from '../../src/db/plan-ahead.ts';
import { createPool } from '../../src/db/pool.ts';
import { DUE_MARGIN_MS, ROWS_PER_ROUND, type WarmUpDeps, warmUp } from '../../src/worker/warm-up.ts';
import { APP_ROLE, TEST_LEVEL_DELAYS_MS, type TestContext, createTestContext } from '../support/context.ts';
import { preparedOnEveryConnection } from '../support/prepared.ts';
import { waitFor } from '../support/waiting.ts';
import { TEST_WORKER_OPTIONS } from '../support/worker.ts';

/** The worker's pool: a connection per batch in flight and two more (src/main/worker.ts). */
const POOL_SIZE = TEST_WORKER_OPTIONS.concurrency + 2;
/** What every execution runs: each must be planned on every connection. */
const EXECUTION_STATEMENTS = ['escalations-by-ids', 'incidents-lock-for-escalations-skip-locked', 'escalations-mark-executed', 'incidents-set-level-batch'];

describe('the worker warm-up', () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await createTestContext({ pool: { max: POOL_SIZE } });
  });
  afterEach(async () => {
    await t.close();
  });

  function deps(warmUpCount: number, overrides: Partial<WarmUpDeps> = {}): WarmUpDeps {
    return {
      pool: t.pool,
      poolSize: POOL_SIZE,
      databaseUrl: t.databaseUrl,
      role: APP_ROLE,
      clock: t.clock,
      timetable: { levelDelaysMs: TEST_LEVEL_DELAYS_MS },
      logger: t.deps.logger,
      options: { ...TEST_WORKER_OPTIONS, warmUp: warmUpCount },
      ...overrides,
    };
  }

  /**
   * Everything an execution writes, counted (as the owner: every row, whoever may read
   * it), and what even a rolled-back write to the real tables leaves: their files' sizes
   * (the pages its rows took stay) and their sequences' positions (nextval is not undone).
   */
  async function stored() {
    const { rows } = await t.ownerPool.query<
      { [table in 'incidents' | 'escalations' | 'events' | 'notifications']: number } & { [file in `${string}_bytes`]: number }
    >(
      `SELECT (SELECT count(*)::int FROM incidents) AS incidents, (SELECT count(*)::int FROM escalations) AS escalations,
              (SELECT count(*)::int FROM incident_events) AS events, (SELECT count(*)::int FROM notifications) AS notifications,
              pg_relation_size('incidents')::int AS incidents_bytes, pg_relation_size('escalations')::int AS escalations_bytes,
              pg_relation_size('incident_events')::int AS events_bytes`,
    );
    const { rows: sequences } = await t.ownerPool.query<{ name: string; position: string | null }>(
      "SELECT sequencename AS name, last_value::text AS position FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1",
    );
    return { ...rows[0], sequences, indexed: await t.redis.zCard(t.keys.pending) };
  }

  /** Sessions of the warm-up's copies open. */
  async function shadowSessions(): Promise<number> {
    const { rows } = await t.ownerPool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'klaxon-worker-warm-up'");
    return rows[0]?.n ?? -1;
  }

  /** Its copies go with their session: the backend leaves pg_stat_activity shortly after the client has closed it. */
  const copiesGone = () => waitFor("the copies' session closed", async () => (await shadowSessions()) === 0, { timeoutMs: 2_000 });

  const messages = (from: number) => t.logs.slice(from).map((line) => line.message);

  it('executes the synthetic escalations on copies of the tables, then plans what they ran on every connection: nothing stored, not even a dead row', async () => {
    // Something stored already, so that "unchanged" is not "empty".
    await t.api.post('/incidents', { title: 'disk 91% on db-3', severity: 'warning', escalate: true });
    const before = await stored();
    expect(before.escalations).to.equal(1);
    const logsBefore = t.logs.length;

    const warmUpCount = ROWS_PER_ROUND * 2 + 50;
    const outcome = await warmUp(deps(warmUpCount));

    // Three rounds, every row executed.
    expect(outcome).to.include({ executions: warmUpCount, ended: 'done' });
    expect(await stored()).to.deep.equal(before);
    await copiesGone();
    expect(messages(logsBefore)).to.deep.equal(['warmed up']);
    expect(t.logs.at(-1)).to.include({ level: 'info', executions: warmUpCount, on_copies: true, statement_runs: outcome.planned, ended: 'done' });

    for (const onConnection of await preparedOnEveryConnection(t.pool, POOL_SIZE)) {
      for (const name of EXECUTION_STATEMENTS) expect(onConnection[name], name).to.be.at.least(RUNS_PER_STATEMENT);
    }
    expect(outcome.planned % (POOL_SIZE * RUNS_PER_STATEMENT)).to.equal(0);
    expect(outcome.planned / (POOL_SIZE * RUNS_PER_STATEMENT)).to.be.at.least(EXECUTION_STATEMENTS.length);
  });

  it(`does nothing while an escalation is due within ${DUE_MARGIN_MS} ms: the worker starts on the real work at once`, async () => {
    const opened = await t.api.post('/incidents', { title: 'api 5xx above 2%', severity: 'critical', escalate: true });
    expect(opened.status).to.equal(201);
    // Level 1 falls due 5 min after the escalation started: half a margin before that, it counts as due.
    t.clock.advance((TEST_LEVEL_DELAYS_MS[0] ?? 0) - DUE_MARGIN_MS / 2);
    const before = await stored();
    const logsBefore = t.logs.length;

    const outcome = await warmUp(deps(1_000));

    expect(outcome).to.include({ executions: 0, planned: 0, ended: 'due' });
    expect(await shadowSessions(), 'copies made').to.equal(0);
    expect(await stored()).to.deep.equal(before);
    expect(messages(logsBefore)).to.deep.equal(['warm-up stopped: escalations are due']);
  });

  it('stops starting rounds, and plans nothing, once the process is told to stop (SIGTERM during start-up), and logs nothing of it', async () => {
    const stopping = new AbortController();
    const before = await stored();
    const logsBefore = t.logs.length;
    const warming = warmUp({ ...deps(10_000), signal: stopping.signal });
    // Let it take a round or two, then stop it.
    await waitFor('a round under way', async () => (await shadowSessions()) > 0);
    stopping.abort();
    const outcome = await warming;
    expect(outcome).to.include({ ended: 'stopped', planned: 0 });
    expect(outcome.executions).to.be.below(10_000);
    expect(await stored()).to.deep.equal(before);
    await copiesGone();
    expect(messages(logsBefore)).to.deep.equal([]);
  });

  it('a round that fails ends the warm-up with one warning, its copies gone and nothing planned', async () => {
    // The clock is read by the due checks before rounds 1 and 2 and by round 1; its fourth reading, round 2's, fails.
    let readings = 0;
    const clock = {
      now: () => {
        readings += 1;
        if (readings === 4) throw new Error('the clock broke');
        return t.clock.now();
      },
    };
    const before = await stored();
    const logsBefore = t.logs.length;
    const outcome = await warmUp({ ...deps(10_000), clock });
    expect(outcome).to.include({ ended: 'failed', planned: 0, executions: ROWS_PER_ROUND });
    await copiesGone();
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
