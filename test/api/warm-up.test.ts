/**
 * The API's warm-up (src/api/warm-up.ts): real requests through the whole app, on copies
 * of the tables, then the statements they ran planned on every connection of the real
 * pool; nothing of it is stored, indexed or logged but one line.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type ApiWarmUpOptions, warmUpApi } from '../../src/api/warm-up.ts';
import { RUNS_PER_STATEMENT } from '../../src/db/plan-ahead.ts';
import { APP_ROLE, type TestContext, createTestContext } from '../support/context.ts';
import { finished, followOutput, spawnKlaxon } from '../support/processes.ts';
import { preparedOnEveryConnection } from '../support/prepared.ts';
import { waitFor } from '../support/waiting.ts';

const POOL_SIZE = 4;

describe('the API warm-up', () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await createTestContext({ pool: { max: POOL_SIZE } });
  });
  afterEach(async () => {
    await t.close();
  });

  function options(overrides: Partial<ApiWarmUpOptions> = {}): ApiWarmUpOptions {
    return {
      deps: t.deps,
      poolSize: POOL_SIZE,
      databaseUrl: t.databaseUrl,
      role: APP_ROLE,
      redisKeyPrefix: t.keyPrefix,
      requests: 40,
      logger: t.deps.logger,
      ...overrides,
    };
  }

  /** The rows of every table (as the owner: all of them), and every Redis key of the test's prefix. */
  async function stored() {
    const { rows: tables } = await t.ownerPool.query<{ name: string }>(
      "SELECT relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1",
    );
    const rows: Record<string, number> = {};
    for (const { name } of tables) {
      const { rows: counted } = await t.ownerPool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${name}`);
      rows[name] = counted[0]?.n ?? -1;
    }
    return { rows, keys: (await t.redis.keys(`${t.keyPrefix}*`)).sort() };
  }

  const messages = (from: number) => t.logs.slice(from).map((line) => line.message);

  it('serves its requests on copies of the tables, then plans what they ran on every connection: nothing stored, nothing indexed', async () => {
    // Something stored and indexed already, so that "unchanged" is not "empty".
    expect((await t.api.post('/incidents', { title: 'disk 91% on db-3', escalate: true })).status).to.equal(201);
    const before = await stored();
    expect(before.rows.incidents).to.equal(1);
    const logsBefore = t.logs.length;

    const outcome = await warmUpApi(options());

    // The seeding's four requests (a person, a policy, a service, its key), then the forty asked for.
    expect(outcome).to.include({ served: 44, ended: 'done' });
    expect(await stored()).to.deep.equal(before);
    expect(messages(logsBefore)).to.deep.equal(['warmed up']);
    expect(t.logs.at(-1)).to.include({ level: 'info', requests: 44, statement_runs: outcome.planned, ended: 'done' });

    // Incidents opened, alerts triggered and repeated, a list read: each of their statements planned on each connection.
    // (The test's own requests ran some of them too, on whichever connection.)
    const hot = ['alert-triggers', 'incidents-open-batch', 'integration-key-resolve', 'incidents-list'];
    for (const onConnection of await preparedOnEveryConnection(t.pool, POOL_SIZE)) {
      for (const name of hot) expect(onConnection[name], name).to.be.at.least(RUNS_PER_STATEMENT);
    }
    expect(outcome.planned % (POOL_SIZE * RUNS_PER_STATEMENT)).to.equal(0);
    expect(outcome.planned / (POOL_SIZE * RUNS_PER_STATEMENT)).to.be.at.least(hot.length);
  });

  it('leaves in Redis only its rate-limit buckets, which expire by themselves', async () => {
    const before = await stored();
    const outcome = await warmUpApi(options());
    expect(outcome.ended).to.equal('done');
    // The buckets it used last may still be there: each expires once drained, within milliseconds at its rate.
    await waitFor('the warm-up buckets expired', async () => (await stored()).keys.length === before.keys.length, { timeoutMs: 2_000 });
    expect((await stored()).keys).to.deep.equal(before.keys);
  });

  it('gives up the requests when out of time, and plans what the seeding ran', async () => {
    const logsBefore = t.logs.length;
    const outcome = await warmUpApi(options({ budgetMs: 0 }));
    expect(outcome).to.include({ served: 4, ended: 'budget' });
    expect(outcome.planned).to.be.above(0);
    expect(messages(logsBefore)).to.deep.equal(['warmed up']);
  });

  it('stops planning when out of time for it, and says so', async () => {
    const full = await warmUpApi(options());
    expect(full.ended).to.equal('done');
    const logsBefore = t.logs.length;
    const outcome = await warmUpApi(options({ planningBudgetMs: 0 }));
    expect(outcome.ended).to.equal('budget');
    expect(outcome.served).to.equal(44);
    expect(outcome.planned).to.be.below(full.planned);
    expect(messages(logsBefore)).to.deep.equal(['warmed up']);
  });

  it('sends nothing and plans nothing once the process is told to stop (SIGTERM during start-up)', async () => {
    const stopping = new AbortController();
    const warming = warmUpApi(options({ requests: 10_000, signal: stopping.signal }));
    await waitFor('the warm-up under way', async () => {
      const { rows } = await t.ownerPool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'klaxon-api-warm-up'");
      return (rows[0]?.n ?? 0) > 0;
    });
    stopping.abort();
    const outcome = await warming;
    expect(outcome.ended).to.equal('stopped');
    expect(outcome.served).to.be.below(10_004);
    expect(outcome.planned).to.equal(0);
  });

  it('is off with API_WARM_UP=0: not even a connection', async () => {
    const logsBefore = t.logs.length;
    expect(await warmUpApi(options({ requests: 0, databaseUrl: 'postgres://nobody@127.0.0.1:1/none' }))).to.include({ served: 0, ended: 'off' });
    expect(messages(logsBefore)).to.deep.equal([]);
  });

  it('fails with one warning, and lets the process start, when Postgres refuses it', async () => {
    const logsBefore = t.logs.length;
    const outcome = await warmUpApi(options({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none' }));
    expect(outcome).to.include({ served: 0, planned: 0, ended: 'failed' });
    expect(messages(logsBefore)).to.deep.equal(['the API warm-up failed; serving without it']);
  });

  it('fails with one warning, and closes its Postgres session, when it cannot make its socket directory', async () => {
    const warmUpSessions = async () =>
      (await t.ownerPool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'klaxon-api-warm-up'")).rows[0]?.n;
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = '/nonexistent/klaxon-test';
    try {
      const logsBefore = t.logs.length;
      expect(await warmUpApi(options())).to.include({ served: 0, ended: 'failed' });
      expect(messages(logsBefore)).to.deep.equal(['the API warm-up failed; serving without it']);
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
    }
    // Its backend exits a moment after the connection is closed; left open, it would stay for the pool's 30 s idle timeout.
    await waitFor('the warm-up session closed', async () => (await warmUpSessions()) === 0, { timeoutMs: 3_000 });
  });

  it('stops at the first answer it did not expect, says which, and leaves nothing behind', async () => {
    const before = await stored();
    const logsBefore = t.logs.length;
    // Bodies larger than this are refused (413): the seeding's first request is.
    const outcome = await warmUpApi(options({ deps: { ...t.deps, bodyLimitBytes: 16 } }));
    expect(outcome).to.include({ served: 0, ended: 'failed' });
    expect(messages(logsBefore)).to.deep.equal(['the API warm-up failed; serving without it']);
    expect(JSON.stringify(t.logs.at(-1))).to.include('POST /users answered 413');
    expect(await stored()).to.deep.equal(before);
  });

  describe('in the API process', () => {
    let scratch: string;
    beforeEach(async () => {
      // The process' TMPDIR: where the warm-up's socket directory goes, and must not stay.
      scratch = await mkdtemp(join(tmpdir(), 'klaxon-test-warm-up-'));
    });
    afterEach(async () => {
      await rm(scratch, { recursive: true, force: true });
    });

    /** The warm-up's socket directories left in the process' TMPDIR (tsx keeps its cache there too). */
    const warmUpDirectories = async () => (await readdir(scratch)).filter((name) => name.startsWith('klaxon-api-warm-up-'));
    const spawnApi = (warmUp: number) =>
      spawnKlaxon(t, 'src/main/api.ts', [], { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', API_WARM_UP: String(warmUp), TMPDIR: scratch });
    const messagesOf = (lines: string[]) => lines.flatMap((line) => (line.startsWith('{') ? [(JSON.parse(line) as { message: string }).message] : []));

    it('warms up before it listens, and stores nothing of it', async () => {
      const before = await stored();
      const api = spawnApi(40);
      const output = followOutput(api);
      const exited = finished(api);
      await output.line(/"message":"listening"/);
      api.kill('SIGTERM');
      expect((await exited).code).to.equal(0);
      const messages = messagesOf(output.lines);
      expect(messages.indexOf('warmed up')).to.be.within(0, messages.indexOf('listening') - 1);
      expect(output.lines.find((line) => line.includes('"warmed up"')))
        .to.include('"ended":"done"')
        .and.include('"requests":44');
      expect((await stored()).rows).to.deep.equal(before.rows);
      expect(await warmUpDirectories()).to.deep.equal([]);
    });

    it('on SIGTERM during the warm-up, stops it, takes its socket directory with it, exits 0 and never listens', async () => {
      const api = spawnApi(10_000);
      const output = followOutput(api);
      const exited = finished(api);
      await waitFor(
        'the warm-up under way',
        async () => {
          const { rows } = await t.ownerPool.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'klaxon-api-warm-up'",
          );
          return (rows[0]?.n ?? 0) > 0;
        },
        { timeoutMs: 20_000 },
      );
      api.kill('SIGTERM');
      expect((await exited).code).to.equal(0);
      const messages = messagesOf(output.lines);
      expect(messages).to.include('warmed up').and.not.include('listening');
      expect(output.lines.find((line) => line.includes('"warmed up"'))).to.include('"ended":"stopped"');
      expect(await warmUpDirectories()).to.deep.equal([]);
    });
  });
});
