/**
 * Overload is not an outage. When every pooled connection of this API process is
 * busy, a request that waited its turn in vain is a 503 `overloaded` with Retry-After:
 * 1 (Postgres is fine: retry soon); when Postgres does not answer, a 503
 * `database_unavailable` with Retry-After: 5. Either is logged as an episode (a line
 * when it starts, a count per second, a line when it ends), never once per request.
 */
import { once } from 'node:events';
import { expect } from 'chai';
import type pg from 'pg';
import { createApp, createHttpServer } from '../../src/api/app.ts';
import type { AppDeps } from '../../src/api/deps.ts';
import { createPool } from '../../src/db/pool.ts';
import { APP_ROLE, KEEP_ALIVE_TIMEOUT_MS, type TestContext, createTestContext } from '../support/context.ts';
import { type Api, apiClient } from '../support/http.ts';

describe('overload and outage answers', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  /** The app with another pool for its commands (the token lookups keep the context's). */
  async function withPool<T>(pool: pg.Pool, work: (api: Api) => Promise<T>, maxInFlight = t.deps.maxInFlight): Promise<T> {
    const deps: AppDeps = { ...t.deps, pool, maxInFlight };
    const server = createHttpServer(createApp(deps), KEEP_ALIVE_TIMEOUT_MS);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      return await work(apiClient(`http://127.0.0.1:${(server.address() as { port: number }).port}`, t.adminToken));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  const lines = (from: number, prefix: string) => t.logs.slice(from).filter((line) => String(line.message).startsWith(prefix));

  it('every connection busy: 503 overloaded with Retry-After 1, one log line for the lot, and answers again once one is free', async () => {
    const pool = createPool({
      databaseUrl: t.databaseUrl,
      applicationName: 'klaxon-test-busy',
      role: APP_ROLE,
      max: 1,
      connectionTimeoutMs: 50,
      logger: t.deps.logger,
    });
    const held = await pool.connect();
    const logsFrom = t.logs.length;
    try {
      await withPool(pool, async (api) => {
        const answers = await Promise.all(Array.from({ length: 8 }, () => api.get('/incidents')));
        for (const res of answers) {
          expect(res.status, res.text).to.equal(503);
          expect(res.body.code).to.equal('overloaded');
          expect(res.headers.get('retry-after')).to.equal('1');
        }
        expect(lines(logsFrom, 'overloaded')).to.have.lengthOf(1);
        expect(lines(logsFrom, 'the database is unreachable')).to.deep.equal([]);
        held.release();
        expect((await api.get('/incidents')).status).to.equal(200);
      });
    } finally {
      await pool.end();
    }
  });

  it('past the requests it serves at once: 503 overloaded at once, before any lookup; /healthz always answers', async () => {
    const pool = createPool({
      databaseUrl: t.databaseUrl,
      applicationName: 'klaxon-test-shed',
      role: APP_ROLE,
      max: 1,
      connectionTimeoutMs: 5_000,
      logger: t.deps.logger,
    });
    const held = await pool.connect();
    try {
      await withPool(
        pool,
        async (api) => {
          // Two requests wait for the held connection...
          const waiting = [api.get('/incidents'), api.get('/incidents')];
          await new Promise((resolve) => setTimeout(resolve, 100));
          // ...and a third is refused at once, without waiting for anything.
          const startedAt = performance.now();
          const shed = await api.get('/incidents');
          expect(performance.now() - startedAt).to.be.below(500);
          expect(shed.status).to.equal(503);
          expect(shed.body.code).to.equal('overloaded');
          expect(shed.headers.get('retry-after')).to.equal('1');
          expect((await api.as(null).get('/healthz')).status).to.equal(200);
          held.release();
          expect((await Promise.all(waiting)).map((res) => res.status)).to.deep.equal([200, 200]);
          expect((await api.get('/incidents')).status).to.equal(200);
        },
        2,
      );
    } finally {
      await pool.end();
    }
  });

  it('Postgres not answering: 503 database_unavailable with Retry-After 5, one log line for the lot', async () => {
    // Nothing listens on port 1: connections are refused at once.
    const pool = createPool({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', applicationName: 'klaxon-test-dead', max: 2, logger: t.deps.logger });
    const logsFrom = t.logs.length;
    try {
      await withPool(pool, async (api) => {
        for (let i = 0; i < 5; i += 1) {
          const res = await api.get('/incidents');
          expect(res.status).to.equal(503);
          expect(res.body.code).to.equal('database_unavailable');
          expect(res.headers.get('retry-after')).to.equal('5');
        }
      });
      expect(lines(logsFrom, 'the database is unreachable')).to.have.lengthOf(1);
      expect(lines(logsFrom, 'overloaded')).to.deep.equal([]);
    } finally {
      await pool.end();
    }
  });
});
