/**
 * Rate limiting over HTTP (takeOrRefuse, as admission uses it), in a tiny Koa app with the project's problem
 * handler: RateLimit-* headers on allowed answers, and a 429 rate_limited problem
 * with Retry-After on refused ones. The limiter is the in-memory one with a clock
 * that does not move, so every number is exact.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { expect } from 'chai';
import Koa from 'koa';
import { problemHandler } from '../../src/api/problem.ts';
import { takeOrRefuse } from '../../src/api/rate-limit.ts';
import { createLogger } from '../../src/log/logger.ts';
import { type RateLimitPolicy, createMemoryRateLimiter } from '../../src/ratelimit/rate-limiter.ts';
import { type Api, apiClient } from '../support/http.ts';
import { track } from '../support/leaks.ts';

const NOW = Date.parse('2026-03-01T09:00:00.000Z');
// 40 per minute: one request every 1.5 s, so rounding up to whole seconds shows.
const POLICY: RateLimitPolicy = { ratePerMinute: 40, burst: 2 };

interface Served {
  api: Api;
  close(): Promise<void>;
}

async function serve(policy: RateLimitPolicy, { withProblemHandler = true } = {}): Promise<Served> {
  const limiter = createMemoryRateLimiter({ policy, now: () => NOW });
  const app = new Koa();
  if (withProblemHandler) app.use(problemHandler(createLogger({ level: 'error', format: 'json', transports: [] })));
  app.use(async (ctx) => {
    const subject = ctx.get('x-token-id');
    if (subject) await takeOrRefuse(ctx, limiter, subject, 'this token');
    ctx.body = { ok: true };
  });
  const handle = app.callback();
  const server = createServer((req, res) => void handle(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  const untrack = track('rate-limit middleware test server');
  return {
    api: apiClient(`http://127.0.0.1:${address.port}`),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      untrack();
    },
  };
}

const as = (token: string) => ({ headers: { 'x-token-id': token } });

describe('rate-limit middleware', () => {
  let served: Served | undefined;
  afterEach(async () => {
    await served?.close();
    served = undefined;
  });

  it('lets a request with no subject through untouched, without RateLimit headers', async () => {
    served = await serve(POLICY);
    for (let i = 0; i < 5; i += 1) {
      const res = await served.api.get('/anything');
      expect(res.status).to.equal(200);
      expect(res.headers.has('ratelimit-limit')).to.equal(false);
    }
  });

  it('answers allowed requests with RateLimit-Limit, -Remaining and -Reset (seconds, rounded up)', async () => {
    served = await serve(POLICY);
    const first = await served.api.raw('GET', '/incidents', as('token:a'));
    expect(first.status).to.equal(200);
    expect(first.body).to.deep.equal({ ok: true });
    expect(headersOf(first.headers)).to.deep.equal({ limit: '2', remaining: '1', reset: '2', retryAfter: null });
    const second = await served.api.raw('GET', '/incidents', as('token:a'));
    expect(headersOf(second.headers)).to.deep.equal({ limit: '2', remaining: '0', reset: '3', retryAfter: null });
  });

  it('refuses over the limit with a 429 rate_limited problem, Retry-After and the RateLimit headers', async () => {
    served = await serve(POLICY);
    await served.api.raw('GET', '/incidents', as('token:a'));
    await served.api.raw('GET', '/incidents', as('token:a'));
    const refused = await served.api.raw('POST', '/incidents', as('token:a'));
    expect(refused.status).to.equal(429);
    expect(refused.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(refused.body).to.deep.include({
      type: 'urn:klaxon:problem:rate_limited',
      title: 'Too many requests',
      status: 429,
      code: 'rate_limited',
      instance: '/incidents',
    });
    expect(refused.body.detail).to.equal('the rate limit of this token is 40 requests per minute with bursts of up to 2; retry in 2 s');
    // 1.5 s until one request fits again, rounded up.
    expect(headersOf(refused.headers)).to.deep.equal({ limit: '2', remaining: '0', reset: '3', retryAfter: '2' });

    const other = await served.api.raw('GET', '/incidents', as('token:b'));
    expect(other.status, 'another token has its own bucket').to.equal(200);
  });

  it('never says Retry-After: 0, even when one request fits again within the second', async () => {
    served = await serve({ ratePerMinute: 6_000, burst: 1 }); // one every 10 ms
    await served.api.raw('GET', '/', as('token:a'));
    const refused = await served.api.raw('GET', '/', as('token:a'));
    expect(refused.status).to.equal(429);
    expect(refused.headers.get('retry-after')).to.equal('1');
  });

  it('keeps Retry-After even without the problem handler (Koa resets headers on error but applies err.headers)', async () => {
    served = await serve(POLICY, { withProblemHandler: false });
    await served.api.raw('GET', '/', as('token:a'));
    await served.api.raw('GET', '/', as('token:a'));
    const refused = await served.api.raw('GET', '/', as('token:a'));
    expect(refused.status).to.equal(429);
    expect(headersOf(refused.headers)).to.deep.equal({ limit: '2', remaining: '0', reset: '3', retryAfter: '2' });
  });
});

function headersOf(headers: Headers) {
  return {
    limit: headers.get('ratelimit-limit'),
    remaining: headers.get('ratelimit-remaining'),
    reset: headers.get('ratelimit-reset'),
    retryAfter: headers.get('retry-after'),
  };
}
