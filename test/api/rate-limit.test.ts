import { expect } from 'chai';
import { createToken } from '../../src/commands/tokens.ts';
import { type TestContext, createTestContext } from '../support/context.ts';

describe('rate limiting per token, through the API', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext({ rateLimit: { ratePerMinute: 60, burst: 3 } });
  });
  after(async () => t.close());

  const newToken = async () => (await createToken(t.deps, { name: 'limited', scopes: ['write'], teamId: null, expiresAt: null }, { via: 'test' })).token;

  it('lets a burst through, counting down RateLimit-Remaining, then answers 429 rate_limited with Retry-After, storing nothing', async () => {
    const api = t.api.as(await newToken());
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i += 1) {
      const res = await api.get('/incidents');
      expect(res.status).to.equal(200);
      remaining.push(res.headers.get('ratelimit-remaining'));
    }
    expect(remaining).to.deep.equal(['2', '1', '0']);
    const before = await t.ownerPool.query('SELECT count(*) FROM incidents');
    const refused = await api.post('/incidents', { title: 'one too many' });
    expect(refused.status).to.equal(429);
    expect(refused.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(refused.body.code).to.equal('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).to.be.within(1, 1);
    expect((await t.ownerPool.query('SELECT count(*) FROM incidents')).rows).to.deep.equal(before.rows);
  });

  it('each token has its own bucket', async () => {
    const first = t.api.as(await newToken());
    for (let i = 0; i < 3; i += 1) await first.get('/incidents');
    expect((await first.get('/incidents')).status).to.equal(429);
    expect((await t.api.as(await newToken()).get('/incidents')).status).to.equal(200);
  });

  it('the health probes are not limited (they carry no token)', async () => {
    for (let i = 0; i < 10; i += 1) expect((await t.api.as(null).get('/healthz')).status).to.equal(200);
  });
});
