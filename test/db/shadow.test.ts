/**
 * The shadow session (src/db/shadow.ts): the application's statements, unchanged, write
 * temporary copies of the tables, and Postgres refuses any write that would reach a
 * real one, even on a connection the pool had to remake.
 */
import { expect } from 'chai';
import { generateToken } from '../../src/auth/token-format.ts';
import { run, sql } from '../../src/db/queries.ts';
import { type ShadowPool, openShadowPool } from '../../src/db/shadow.ts';
import { APP_ROLE, type TestContext, createTestContext } from '../support/context.ts';
import { refusalCode } from '../support/databases.ts';
import { waitFor } from '../support/waiting.ts';

describe('a shadow session', () => {
  let t: TestContext;
  let shadow: ShadowPool;
  beforeEach(async () => {
    t = await createTestContext();
    shadow = await openShadowPool({ databaseUrl: t.databaseUrl, role: APP_ROLE, applicationName: 'klaxon-test-shadow', logger: t.deps.logger });
  });
  afterEach(async () => {
    await shadow.close();
    await t.close();
  });

  /** A token row as `tokens-insert-if-absent` stores it: its values, and what the statement returns. */
  function insertToken(db: Parameters<typeof run>[0], name: string) {
    const token = generateToken();
    return run<{ id: string; public_id: string }>(db, sql('tokens-insert-if-absent'), [
      token.publicId,
      token.secretHash,
      name,
      ['admin'],
      'test',
      t.clock.now(),
    ]);
  }
  const realTokens = async () => (await t.ownerPool.query<{ n: number }>('SELECT count(*)::int AS n FROM api_tokens')).rows[0]?.n;

  it('copies every table the application may read, and its statements write the copies only', async () => {
    const { rows } = await t.ownerPool.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND has_table_privilege($1, c.oid, 'SELECT') ORDER BY 1`,
      [APP_ROLE],
    );
    expect(shadow.tables).to.deep.equal(rows.map((row) => row.relname));
    expect(shadow.tables).to.include.members(['incidents', 'escalations', 'api_tokens', 'alert_log', 'audit_log']);

    const before = await realTokens();
    const [stored] = await insertToken(shadow.pool, 'shadow token');
    expect(stored?.public_id).to.be.a('string');
    // Read back through the shadow, by the same statement: ON CONFLICT found the copy's unique index.
    const token = generateToken();
    const values = [token.publicId, token.secretHash, 'twice', ['admin'], 'test', t.clock.now()];
    expect(await run(shadow.pool, sql('tokens-insert-if-absent'), values)).to.have.length(1);
    expect(await run(shadow.pool, sql('tokens-insert-if-absent'), values)).to.have.length(0);
    expect(await realTokens()).to.equal(before);
  });

  it('refuses a write that names a real table (read-only, SQLSTATE 25006), and writes nothing', async () => {
    const before = await realTokens();
    const token = generateToken();
    const write = shadow.pool.query(
      `INSERT INTO public.api_tokens (public_id, secret_hash, name, scopes, created_via, created_at) VALUES ($1, $2, 'leak', '{admin}', 'test', now())`,
      [token.publicId, token.secretHash],
    );
    expect(await refusalCode(write)).to.equal('25006');
    expect(await realTokens()).to.equal(before);
  });

  it('on a connection the pool had to remake (no copies there), says so, and a write is refused, not done', async () => {
    const { rows } = await shadow.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await t.ownerPool.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
    // The idle connection's end is noticed by the pool, which drops it.
    await waitFor('the lost connection dropped', () => shadow.pool.totalCount === 0);
    expect(shadow.remade).to.equal(false);

    const before = await realTokens();
    expect(await refusalCode(insertToken(shadow.pool, 'after the copies went'))).to.equal('25006');
    expect(shadow.remade).to.equal(true);
    expect(await realTokens()).to.equal(before);
  });

  it('records the first run of every named statement, for planAhead', async () => {
    await insertToken(shadow.pool, 'first');
    await insertToken(shadow.pool, 'second');
    await run(shadow.pool, sql('users-get'), ['00000000-0000-4000-8000-000000000000']);
    const runs = shadow.statements();
    expect(runs.map((r) => r.name)).to.deep.equal(['tokens-insert-if-absent', 'users-get']);
    expect(runs[0]?.values[2]).to.equal('first');
    expect(runs[0]?.text).to.equal(sql('tokens-insert-if-absent').text);
  });

  it('takes its copies with it when it closes', async () => {
    await insertToken(shadow.pool, 'gone with the session');
    await shadow.close();
    shadow = await openShadowPool({ databaseUrl: t.databaseUrl, role: APP_ROLE, applicationName: 'klaxon-test-shadow', logger: t.deps.logger });
    expect((await shadow.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM api_tokens')).rows[0]?.n).to.equal(0);
    const { rows } = await t.ownerPool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_class WHERE relpersistence = 't' AND relname = 'api_tokens'");
    // The new session's own copy only.
    expect(rows[0]?.n).to.equal(1);
  });
});
