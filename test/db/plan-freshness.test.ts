/**
 * PlanFreshness (src/db/plan-freshness.ts): a generic plan made while a table was
 * nearly empty is thrown away once the table has grown, and the connection plans the
 * statement again over the table as it is.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type pg from 'pg';
import { GROWTH_FACTOR, MIN_PAGES, PlanFreshness } from '../../src/db/plan-freshness.ts';
import { createPool } from '../../src/db/pool.ts';
import { run, sql } from '../../src/db/queries.ts';
import { APP_ROLE, type TestContext, createTestContext } from '../support/context.ts';

/** No check but the test's own: the interval never comes round during a test. */
const NEVER_MS = 3_600_000;
const STATEMENT = sql('escalations-by-ids');
const SOME_ID = '00000000-0000-4000-8000-000000000000';

describe('plans following the tables’ growth', () => {
  let t: TestContext;
  let pool: pg.Pool;
  let plans: PlanFreshness;

  beforeEach(async () => {
    t = await createTestContext();
    // Autovacuum's ANALYZE would make the plans again by itself, at a moment of its choosing.
    await t.ownerPool.query('ALTER TABLE escalations SET (autovacuum_enabled = false)');
    await t.ownerPool.query('ALTER TABLE incidents SET (autovacuum_enabled = false)');
    // A table of a few rows, as it is on a new install, its size known to the planner.
    await addEscalations(10);
    await t.ownerPool.query('VACUUM ANALYZE escalations, incidents');
    // One connection: every statement of the test runs on it, and every acquire is its.
    // A short wait for it: the test that holds it sees the checks fail quickly.
    pool = createPool({
      databaseUrl: t.databaseUrl,
      applicationName: 'klaxon-test-plans',
      role: APP_ROLE,
      max: 1,
      connectionTimeoutMs: 200,
      logger: t.deps.logger,
    });
    plans = new PlanFreshness(pool, t.deps.logger);
    await plans.start(NEVER_MS);
  });
  afterEach(async () => {
    plans.stop();
    await pool.end();
    await t.close();
  });

  async function addEscalations(count: number): Promise<void> {
    const owner = await t.ownerPool.connect();
    try {
      // The very thing under test, on the owner's side: the foreign key checks' own plans,
      // cached on this connection while incidents was small, would read it whole for each row.
      await owner.query('DISCARD PLANS');
      await owner.query(
        `WITH incident AS (
         INSERT INTO incidents (title, severity, state, created_at, updated_at)
         SELECT 'grown', 'info', 'ESCALATING', now(), now() FROM generate_series(1, $1::int) RETURNING id)
       INSERT INTO escalations (incident_id, escalation_level, repeat_cycle, status, scheduled_at, created_at, updated_at)
       SELECT id, 1, 0, 'PENDING', now(), now(), now() FROM incident`,
        [count],
      );
    } finally {
      owner.release();
    }
  }

  /** How the connection would run the statement now: its cached plan, as EXPLAIN EXECUTE shows it. */
  async function planOfStatement(): Promise<string> {
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) EXECUTE "${STATEMENT.name}"('{${SOME_ID}}')`);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  }

  async function runStatementUntilItHasAGenericPlan(): Promise<void> {
    // Postgres plans the first five runs for their values, then keeps one generic plan
    // (when it costs no more than theirs did: batches of ids, as the worker runs it).
    const batch = Array.from({ length: 50 }, () => randomUUID());
    for (let i = 0; i < 6; i += 1) await run(pool, STATEMENT, [batch]);
    const { rows } = await pool.query<{ generic_plans: string }>('SELECT generic_plans FROM pg_prepared_statements WHERE name = $1', [STATEMENT.name]);
    expect(Number(rows[0]?.generic_plans)).to.be.greaterThan(0);
  }

  it('plans a statement again after its table has grown, instead of reading the grown table whole', async () => {
    await runStatementUntilItHasAGenericPlan();
    expect(await planOfStatement()).to.match(/Seq Scan on escalations/);

    await addEscalations(20_000);
    // Without a check the connection keeps the plan it made on the small table.
    expect(await planOfStatement()).to.match(/Seq Scan on escalations/);

    const grown = await plans.check();
    const escalations = grown.find((growth) => growth.table === 'escalations');
    expect(escalations?.pages)
      .to.be.at.least(GROWTH_FACTOR * (escalations?.fromPages ?? 0))
      .and.at.least(MIN_PAGES);
    expect(await planOfStatement())
      .to.match(/Index (Only )?Scan using escalations_pkey on escalations/)
      .and.not.match(/Seq Scan on escalations/);
    expect(t.logs.filter((line) => String(line.message).startsWith('tables grew'))).to.have.length(1);
  });

  it('has the foreign keys’ checks planned again too: they read the grown table by its key', async () => {
    const incidents = (await t.ownerPool.query<{ id: string }>('SELECT id FROM incidents ORDER BY id LIMIT 10')).rows.map((row) => row.id);
    /** Schedules `level` for the ten first incidents, one statement each, and counts how `incidents` was read meanwhile. */
    const scheduleLevel = async (level: number) => {
      const client = await pool.connect();
      // The backend's reads of the table so far (what it has not yet reported included), read twice in one transaction.
      const reads = async () => {
        const { rows } = await client.query<{ whole: string; by_key: string }>(
          "SELECT seq_scan AS whole, idx_scan AS by_key FROM pg_stat_xact_user_tables WHERE relname = 'incidents'",
        );
        return { whole: Number(rows[0]?.whole), byKey: Number(rows[0]?.by_key) };
      };
      try {
        await client.query('BEGIN');
        const before = await reads();
        const now = t.clock.now();
        for (const id of incidents) await run(client, sql('escalations-insert-batch'), [[id], [level], [0], [now], now]);
        const after = await reads();
        await client.query('ROLLBACK');
        return { wholeReads: after.whole - before.whole, keyReads: after.byKey - before.byKey };
      } finally {
        client.release();
      }
    };
    // Ten checks while the table is small: Postgres keeps a generic plan for them, a whole read.
    expect(await scheduleLevel(2)).to.deep.equal({ wholeReads: 10, keyReads: 0 });

    await addEscalations(20_000);
    expect(await scheduleLevel(3)).to.deep.equal({ wholeReads: 10, keyReads: 0 });

    expect((await plans.check()).map((growth) => growth.table)).to.include('incidents');
    expect(await scheduleLevel(4)).to.deep.equal({ wholeReads: 0, keyReads: 10 });
  });

  it('keeps the plans while no table has grown fourfold, or while the ones that did are still small', async () => {
    await runStatementUntilItHasAGenericPlan();
    // From about one page to a few: more than fourfold, still under MIN_PAGES.
    await addEscalations(200);
    expect(await plans.check()).to.deep.equal([]);
    await addEscalations(20_000);
    expect((await plans.check()).map((growth) => growth.table)).to.include('escalations');
    // Grown by a fraction since the plans were made again: they stay.
    await addEscalations(2_000);
    expect(await plans.check()).to.deep.equal([]);
    expect(t.logs.filter((line) => String(line.message).startsWith('tables grew'))).to.have.length(1);
  });

  it('logs one line when the sizes cannot be read, and one when they can again, whatever the number of checks', async () => {
    // The pool's only connection held elsewhere: each check waits for it in vain.
    const held = await pool.connect();
    for (let i = 0; i < 3; i += 1) expect(await plans.check()).to.deep.equal([]);
    held.release();
    expect(await plans.check()).to.deep.equal([]);
    const lines = t.logs.filter((line) => String(line.message).startsWith("reading the tables' sizes"));
    expect(lines.map((line) => [line.level, line.message])).to.deep.equal([
      ['warn', "reading the tables' sizes failed; cached plans are kept until it works again"],
      ['info', "reading the tables' sizes works again"],
    ]);
  });
});
