/**
 * warmPool (src/db/pool.ts): a process opens its connections, and has each backend plan
 * over the hot tables, before it takes work; a failure costs a warning, not the start.
 */
import { expect } from 'chai';
import { createPool, warmPool } from '../../src/db/pool.ts';
import { APP_ROLE, type TestContext, createTestContext } from '../support/context.ts';

describe('warming a pool before the process takes work', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(async () => t.close());

  /** The warnings logged through the context's logger (t.deps.logger) since `from`. */
  const warningsSince = (from: number) =>
    t.logs
      .slice(from)
      .filter((line) => line.level === 'warn')
      .map((line) => line.message);

  it('opens every connection of the pool, as the application role, with every hot table readable, and logs nothing', async () => {
    const from = t.logs.length;
    const logger = t.deps.logger;
    const pool = createPool({ databaseUrl: t.databaseUrl, applicationName: 'klaxon-warm-test', role: APP_ROLE, max: 4, logger });
    try {
      await warmPool(pool, 4, logger);
      expect(warningsSince(from)).to.deep.equal([]);
      // Made and handed back: all four idle in the pool, ready for the first requests.
      expect([pool.totalCount, pool.idleCount]).to.deep.equal([4, 4]);
      const { rows } = await t.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'klaxon-warm-test' AND datname = current_database()",
      );
      expect(rows[0]?.n).to.equal(4);
    } finally {
      await pool.end();
    }
  });

  it('hands back the connections it made when one of them fails, so that none is lost to the pool', async () => {
    const from = t.logs.length;
    const logger = t.deps.logger;
    const pool = createPool({ databaseUrl: t.databaseUrl, applicationName: 'klaxon-warm-test-2', role: APP_ROLE, max: 3, logger });
    // The second connection made is refused.
    let made = 0;
    const connect = pool.connect.bind(pool);
    pool.connect = (() => (++made === 2 ? Promise.reject(new Error('refused')) : connect())) as typeof pool.connect;
    try {
      await warmPool(pool, 3, logger);
      expect(warningsSince(from)).to.deep.equal(['warming the Postgres connections failed; they are made on first use']);
      expect([pool.totalCount, pool.idleCount]).to.deep.equal([2, 2]);
    } finally {
      await pool.end();
    }
  });

  it('logs one warning and returns when Postgres refuses, so that the process still starts', async () => {
    const from = t.logs.length;
    const logger = t.deps.logger;
    // A database that does not exist: every connection is refused.
    const pool = createPool({
      databaseUrl: t.databaseUrl.replace(/\/[^/?]+(\?|$)/, '/klaxon_no_such_database$1'),
      applicationName: 'klaxon-warm-test',
      max: 2,
      logger,
    });
    try {
      await warmPool(pool, 2, logger);
      expect(warningsSince(from)).to.deep.equal(['warming the Postgres connections failed; they are made on first use']);
      expect(pool.idleCount).to.equal(0);
    } finally {
      await pool.end();
    }
  });
});
