/**
 * The worker's transactions: bounds that follow from the lease, applied to that
 * transaction only, and which failures may be a row's doing (retried apart, counted
 * against it) and which are not (handed back whole, counted against nobody).
 */
import { expect } from 'chai';
import { createPool } from '../../src/db/pool.ts';
import { beginWithin, boundsForLease, failedForItsRows, inBoundedTransaction } from '../../src/worker/transaction.ts';
import { APP_ROLE, type TestContext, createTestContext } from '../support/context.ts';

function pgError(code: string): Error {
  return Object.assign(new Error(`postgres said ${code}`), { code });
}

describe('the worker transaction bounds', () => {
  it('are whole numbers of milliseconds, written into the BEGIN that opens the transaction', () => {
    expect(beginWithin({ idleInTransactionMs: 15_000, lockTimeoutMs: 7_500 })).to.equal(
      "BEGIN; SET LOCAL lock_timeout = '7500ms'; SET LOCAL idle_in_transaction_session_timeout = '15000ms'; SET LOCAL plan_cache_mode = force_generic_plan",
    );
    expect(() => beginWithin({ idleInTransactionMs: 1.5, lockTimeoutMs: 1 })).to.throw(RangeError);
    expect(() => beginWithin({ idleInTransactionMs: 1, lockTimeoutMs: Number.NaN })).to.throw(RangeError);
  });

  it('follow from the lease: idle in a transaction for half of it, a lock wait for a quarter', () => {
    expect(boundsForLease(30_000)).to.deep.equal({ idleInTransactionMs: 15_000, lockTimeoutMs: 7_500 });
    expect(boundsForLease(1_000)).to.deep.equal({ idleInTransactionMs: 500, lockTimeoutMs: 250 });
  });

  const cases: [what: string, error: unknown, rowsDoing: boolean][] = [
    ['a JavaScript error reading a corrupt policy snapshot', new TypeError('value.levels.map is not a function'), true],
    ['a data exception (22007 invalid datetime)', pgError('22007'), true],
    ['a check constraint (23514)', pgError('23514'), true],
    ["a trigger's RAISE (P0001)", pgError('P0001'), true],
    ['the session ended as idle in transaction (25P03): this worker stalled', pgError('25P03'), false],
    ['the lock timeout (55P03)', pgError('55P03'), false],
    ['a statement timeout (57014)', pgError('57014'), false],
    ['Postgres shutting down (57P01)', pgError('57P01'), false],
    ['a deadlock (40P01)', pgError('40P01'), false],
    ['a table the code expects and the schema lacks (42P01): a release ahead of its migration', pgError('42P01'), false],
    ['a privilege the role lacks (42501)', pgError('42501'), false],
    ['too many connections (53300)', pgError('53300'), false],
    ['the network (ECONNRESET)', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), false],
    ['an unknown host (ENOTFOUND)', Object.assign(new Error('getaddrinfo ENOTFOUND db'), { code: 'ENOTFOUND' }), false],
    ["the pg client's broken connection", new Error('Client has encountered a connection error and is not queryable'), false],
    ['the pool waited in vain', new Error('timeout exceeded when trying to connect'), false],
  ];
  for (const [what, error, rowsDoing] of cases) {
    it(`${what}: ${rowsDoing ? "may be a row's doing" : "not a row's doing"}`, () => {
      expect(failedForItsRows(error)).to.equal(rowsDoing);
    });
  }

  describe('on a real session', () => {
    let t: TestContext;
    before(async () => {
      t = await createTestContext();
    });
    after(() => t.close());

    it('hold inside the transaction only: the pooled session keeps its defaults afterwards (the API shares none of it)', async () => {
      // One connection, so that "afterwards" is the very session the transaction ran on.
      const pool = createPool({ databaseUrl: t.databaseUrl, applicationName: 'klaxon-test-bounds', role: APP_ROLE, max: 1, logger: t.deps.logger });
      const settings = `SELECT pg_backend_pid() AS pid, current_setting('idle_in_transaction_session_timeout') AS idle, current_setting('lock_timeout') AS lock,
                               current_setting('plan_cache_mode') AS plans`;
      try {
        const inside = await inBoundedTransaction(
          pool,
          { idleInTransactionMs: 1_500, lockTimeoutMs: 700 },
          async (client) => (await client.query(settings)).rows[0] as object,
        );
        const after = (await pool.query(settings)).rows[0] as object;
        expect(inside).to.deep.include({ idle: '1500ms', lock: '700ms', plans: 'force_generic_plan' });
        expect(after).to.deep.equal({ ...inside, idle: '0', lock: '0', plans: 'auto' });
      } finally {
        await pool.end();
      }
    });

    it('a transaction left idle past its bound is ended by Postgres, and says so (25P03), without crashing the process', async () => {
      const error = await inBoundedTransaction(t.pool, { idleInTransactionMs: 100, lockTimeoutMs: 100 }, async (client) => {
        await client.query('SELECT 1');
        // Idle inside the transaction, as a stalled worker is; the session ends meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 400));
      }).then(
        () => null,
        (caught: unknown) => caught as { code?: string },
      );
      expect(error?.code).to.equal('25P03');
      // The pool gave up the dead connection: the next transaction works.
      expect(
        await inBoundedTransaction(t.pool, boundsForLease(30_000), async (client) => (await client.query<{ one: number }>('SELECT 1 AS one')).rows),
      ).to.deep.equal([{ one: 1 }]);
    });
  });
});
