/**
 * What costs work without a valid token is limited per client address: requests with
 * no token, a malformed, unknown or revoked one, and the public /readyz. An address
 * over its budget is refused without a database lookup until its bucket refills,
 * except for a token this process accepted recently (a client behind the same NAT).
 * /healthz costs nothing and is never limited; /readyz is probed at most once a second.
 */
import { expect } from 'chai';
import { generateToken } from '../../src/auth/token-format.ts';
import { createToken } from '../../src/commands/tokens.ts';
import { READINESS_CACHE_MS, Readiness } from '../../src/api/readiness.ts';
import { type TestContext, createTestContext } from '../support/context.ts';

const BURST = 4;

describe('rate limits per client address, for what has no valid token', () => {
  let t: TestContext;
  beforeEach(async () => {
    // One request a minute refills: within a test, the burst is all there is.
    t = await createTestContext({ addressRateLimit: { ratePerMinute: 1, burst: BURST } });
  });
  afterEach(() => t.close());

  /** Counts the token lookups sent through the application's (real) pool from now on. */
  function countLookups(): () => number {
    const pool = t.pool as unknown as { query: (...args: unknown[]) => unknown };
    const query = pool.query.bind(pool);
    let lookups = 0;
    pool.query = (...args: unknown[]) => {
      if ((args[0] as { name?: string } | undefined)?.name === 'tokens-by-public-id') lookups += 1;
      return query(...args);
    };
    return () => lookups;
  }

  it('counts requests without a token, with a malformed one and with an unknown one; then answers 429 with Retry-After', async () => {
    const statuses: number[] = [];
    statuses.push((await t.api.as(null).get('/incidents')).status);
    statuses.push((await t.api.raw('GET', '/incidents', { headers: { authorization: 'Bearer nope' } })).status);
    statuses.push((await t.api.as(generateToken().token).get('/incidents')).status);
    statuses.push((await t.api.as(null).get('/no-such-route')).status);
    expect(statuses).to.deep.equal([401, 401, 401, 401]);
    const refused = await t.api.as(generateToken().token).get('/incidents');
    expect(refused.status).to.equal(429);
    expect(refused.body.code).to.equal('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).to.be.within(1, 60);
    expect((await t.api.as(null).get('/incidents')).status).to.equal(429);
  });

  it('an address over its budget is refused without looking tokens up, but a token accepted recently still works from it', async () => {
    const api = t.api.as(t.adminToken);
    expect((await api.get('/incidents')).status).to.equal(200); // accepted: remembered
    for (let i = 0; i < BURST; i += 1) await t.api.as(generateToken().token).get('/incidents');
    expect((await t.api.as(generateToken().token).get('/incidents')).status).to.equal(429);
    const lookups = countLookups();
    for (let i = 0; i < 20; i += 1) expect((await t.api.as(generateToken().token).get('/incidents')).status).to.equal(429);
    expect(lookups(), 'no lookup for a refused address').to.equal(0);
    // The valid token is not locked out by the attacker next to it.
    expect((await api.get('/incidents')).status).to.equal(200);
    // A valid token never seen by this process is refused too while the address is blocked: the price of no lookup.
    const fresh = await createToken(t.deps, { name: 'fresh', scopes: ['read'], teamId: null, expiresAt: null }, { via: 'test' });
    expect((await t.api.as(fresh.token).get('/incidents')).status).to.equal(429);
  });

  it('valid tokens spend their own bucket, never the address budget', async () => {
    for (let i = 0; i < BURST * 3; i += 1) expect((await t.api.get('/incidents')).status).to.equal(200);
    expect((await t.api.as(null).get('/incidents')).status).to.equal(401);
  });

  it('/readyz is limited per address; /healthz never is', async () => {
    for (let i = 0; i < BURST; i += 1) expect((await t.api.as(null).get('/readyz')).status).to.equal(200);
    expect((await t.api.as(null).get('/readyz')).status).to.equal(429);
    for (let i = 0; i < BURST * 3; i += 1) expect((await t.api.as(null).get('/healthz')).status).to.equal(200);
  });
});

describe('readiness, probed at most once a second', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  it('reuses an answer for a second, shares one probe among concurrent checks, and probes again after', async () => {
    let now = 0;
    let probes = 0;
    const pool = { query: (text: string) => ((probes += 1), t.pool.query(text)) };
    const readiness = new Readiness({ pool: pool as unknown as typeof t.pool, redis: t.redis }, () => now);
    const answers = await Promise.all(Array.from({ length: 10 }, () => readiness.check()));
    expect(answers.every((checks) => checks.postgres === 'up' && checks.redis === 'up')).to.equal(true);
    expect(probes).to.equal(1);
    now += READINESS_CACHE_MS - 1;
    await readiness.check();
    expect(probes).to.equal(1);
    now += 1;
    await readiness.check();
    expect(probes).to.equal(2);
  });
});
