/**
 * planAhead (src/db/plan-ahead.ts): every connection of the pool has the statements
 * planned, and nothing is written, not even a sequence advanced, nor a NOTIFY sent.
 */
import { expect } from 'chai';
import type pg from 'pg';
import { generateToken } from '../../src/auth/token-format.ts';
import { RUNS_PER_STATEMENT, type NamedStatementRun, planAhead } from '../../src/db/plan-ahead.ts';
import { sql } from '../../src/db/queries.ts';
import { type TestContext, createTestContext } from '../support/context.ts';

describe('planning statements ahead', () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await createTestContext({ pool: { max: 3 } });
  });
  afterEach(async () => {
    await t.close();
  });

  /** Runs `work` on every connection of the pool at once (all checked out: each is a different one). */
  async function onEveryConnection<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T[]> {
    const clients = await Promise.all(Array.from({ length: 3 }, () => t.pool.connect()));
    try {
      return await Promise.all(clients.map(work));
    } finally {
      for (const client of clients) client.release();
    }
  }

  /** The plans made for these statements on this connection (the test context's own statements aside). */
  const plansOf = (names: string[]) => (client: pg.PoolClient) =>
    client
      .query<{ name: string; plans: number }>(
        'SELECT name, (custom_plans + generic_plans)::int AS plans FROM pg_prepared_statements WHERE name = ANY ($1) ORDER BY name',
        [names],
      )
      .then((result) => result.rows);

  /** What a write could leave: rows, and the audit log's identity sequence (which a rollback does not undo). */
  async function traces() {
    const { rows } = await t.ownerPool.query<{ tokens: number; audit: number; next_audit_id: string }>(
      `SELECT (SELECT count(*)::int FROM api_tokens) AS tokens, (SELECT count(*)::int FROM audit_log) AS audit,
              (SELECT last_value FROM audit_log_id_seq) AS next_audit_id`,
    );
    return rows[0];
  }

  it('plans each statement on every connection, and a statement that writes is refused before it writes anything', async () => {
    const token = generateToken();
    const now = t.clock.now();
    // Values the real tables would take: only the read-only transaction stops them.
    const statements: NamedStatementRun[] = [
      { ...sql('tokens-insert-if-absent'), values: [token.publicId, token.secretHash, 'planned only', ['admin'], 'test', now] },
      {
        ...sql('audit-log-insert'),
        values: [[now], [null], ['planner'], [null], ['POST'], ['/incidents'], ['/incidents'], [201], ['req-1'], [null]],
      },
      { ...sql('users-get'), values: ['00000000-0000-4000-8000-000000000000'] },
    ];
    const before = await traces();
    const listener = await t.ownerPool.connect();
    const heard: string[] = [];
    listener.on('notification', (message) => heard.push(message.channel));
    await listener.query('LISTEN klaxon_notifications');
    try {
      const runs = await planAhead(t.pool, statements, 3);

      expect(runs).to.equal(3 * statements.length * RUNS_PER_STATEMENT);
      const expected = statements.map((s) => ({ name: s.name, plans: RUNS_PER_STATEMENT })).sort((a, b) => a.name.localeCompare(b.name));
      expect(await onEveryConnection(plansOf(statements.map((s) => s.name)))).to.deep.equal([expected, expected, expected]);
      expect(await traces()).to.deep.equal(before);
      // A round trip on the listener's connection: a NOTIFY sent before it would have arrived.
      await listener.query('SELECT 1');
      expect(heard).to.deep.equal([]);
    } finally {
      listener.release();
    }
  });

  it('then the application runs them as prepared, and they write as ever', async () => {
    const token = generateToken();
    const statement = { ...sql('tokens-insert-if-absent'), values: [token.publicId, token.secretHash, 'planned', ['admin'], 'test', t.clock.now()] };
    await planAhead(t.pool, [statement], 3);
    const before = await traces();
    const { rows } = await t.pool.query<{ name: string }>(statement);
    expect(rows.map((row) => row.name)).to.deep.equal(['planned']);
    expect((await traces())?.tokens).to.equal((before?.tokens ?? 0) + 1);
  });

  it('stops planning once the signal is aborted', async () => {
    const stopping = new AbortController();
    stopping.abort();
    expect(await planAhead(t.pool, [{ ...sql('users-get'), values: ['00000000-0000-4000-8000-000000000000'] }], 3, stopping.signal)).to.equal(0);
  });
});
