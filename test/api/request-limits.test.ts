/**
 * Limits on the request target, the query string and the headers
 * (src/api/request-limits.ts): refused before routing, as a problem, with nothing
 * stored changed; past Node's own header-size limit, Node answers a bare 431 itself.
 */
import { expect } from 'chai';
import Koa from 'koa';
import { createHttpServer } from '../../src/api/app.ts';
import { MAX_HEADERS, MAX_QUERY_PARAMETERS, MAX_URL_BYTES, SERVER_LIMITS } from '../../src/api/request-limits.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import type { ApiResponse } from '../support/http.ts';
import { type Problem, peopleState } from '../support/people.ts';
import { storedState } from '../support/snapshot.ts';

const INCIDENT = JSON.stringify({ title: 'disk 90% on db-2', severity: 'warning' });
const JSON_HEADERS = { 'content-type': 'application/json' };

/** `count` query parameters, `p0=0&p1=1...`. */
function params(count: number): string {
  return Array.from({ length: count }, (_, i) => `p${i}=${i}`).join('&');
}

/** `count` extra headers, `x-pad-0: 0`... */
function headers(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-pad-${i}`, String(i)]));
}

describe('request limits: refused before routing, nothing stored changed', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  const stored = async () => ({ people: await peopleState(t.pool), incidents: await storedState(t.pool) });

  /** Sends a request that must be refused with this problem, and checks that nothing stored changed. */
  async function expectProblem(send: () => Promise<ApiResponse<unknown>>, status: number, code: string): Promise<Problem> {
    const before = await stored();
    const res = await send();
    expect(res.status, res.text).to.equal(status);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    const problem = res.body as Problem;
    expect(problem.code).to.equal(code);
    expect(problem.status).to.equal(status);
    expect(await stored()).to.deep.equal(before);
    return problem;
  }

  describe('the request target', () => {
    it(`over ${MAX_URL_BYTES} bytes in its query: 414 uri_too_long, and the incident is not opened`, async () => {
      const target = `/incidents?pad=${'x'.repeat(MAX_URL_BYTES)}`;
      const problem = await expectProblem(() => t.api.raw('POST', target, { body: INCIDENT, headers: JSON_HEADERS }), 414, 'uri_too_long');
      expect(problem.limit_bytes).to.equal(MAX_URL_BYTES);
      expect(problem.detail).to.equal(`the request target is ${target.length} bytes; the limit is ${MAX_URL_BYTES}`);
    });

    it(`over ${MAX_URL_BYTES} bytes in its path: 414 uri_too_long (not a 400 for a malformed id)`, async () => {
      await expectProblem(() => t.api.raw('POST', `/incidents/${'a'.repeat(MAX_URL_BYTES)}/acknowledge`, {}), 414, 'uri_too_long');
    });

    it('counts bytes, not characters: a path of multi-byte characters over the limit is refused', async () => {
      // 700 × "é" is 700 characters but 4,200 bytes as sent (%C3%A9).
      await expectProblem(() => t.api.raw('GET', `/users/${'é'.repeat(700)}`, {}), 414, 'uri_too_long');
    });

    it(`of exactly ${MAX_URL_BYTES} bytes: not refused for its length (the route decides: here, an unknown parameter)`, async () => {
      const prefix = '/healthz?pad=';
      const res = await t.api.raw('GET', `${prefix}${'x'.repeat(MAX_URL_BYTES - prefix.length)}`, {});
      expect(res.status, res.text).to.equal(400);
      expect((res.body as { errors: unknown[] }).errors).to.deep.equal([{ field: 'pad', rule: 'additionalProperties', message: 'is not a known parameter' }]);
    });

    it(`past Node's header limit (${SERVER_LIMITS.maxHeaderSize} bytes): Node's own bare 431, before the app runs`, async () => {
      const before = await stored();
      const res = await t.api.raw('POST', `/incidents?pad=${'x'.repeat(SERVER_LIMITS.maxHeaderSize)}`, { body: INCIDENT, headers: JSON_HEADERS });
      expect(res.status).to.equal(431);
      expect(res.text).to.equal('');
      expect(await stored()).to.deep.equal(before);
    });
  });

  describe('the query string', () => {
    it(`with ${MAX_QUERY_PARAMETERS + 1} parameters: 400 validation_failed naming (query) and maxProperties`, async () => {
      const problem = await expectProblem(
        () => t.api.raw('POST', `/incidents?${params(MAX_QUERY_PARAMETERS + 1)}`, { body: INCIDENT, headers: JSON_HEADERS }),
        400,
        'validation_failed',
      );
      expect(problem.errors).to.deep.equal([
        { field: '(query)', rule: 'maxProperties', message: `has ${MAX_QUERY_PARAMETERS + 1} parameters; at most ${MAX_QUERY_PARAMETERS} are allowed` },
      ]);
    });

    it('counts a repeated parameter each time, and ignores empty pieces (a=1&&b=2 is two)', async () => {
      const repeated = Array.from({ length: MAX_QUERY_PARAMETERS + 1 }, () => 'limit=1').join('&');
      await expectProblem(() => t.api.raw('GET', `/users?${repeated}`, {}), 400, 'validation_failed');
      const sparse = `${params(MAX_QUERY_PARAMETERS)}${'&'.repeat(50)}`;
      const problem = await expectProblem(() => t.api.raw('GET', `/healthz?${sparse}`, {}), 400, 'validation_failed');
      expect(problem.errors?.[0]).to.deep.include({ field: 'p0', rule: 'additionalProperties' });
    });

    it(`with ${MAX_QUERY_PARAMETERS} parameters: not refused for their number (the route decides)`, async () => {
      const problem = await expectProblem(() => t.api.raw('GET', `/users?${params(MAX_QUERY_PARAMETERS)}`, {}), 400, 'validation_failed');
      expect(problem.errors?.[0]).to.deep.include({ field: 'p0', rule: 'additionalProperties' });
    });
  });

  describe('the headers', () => {
    it(`more than ${MAX_HEADERS} header fields: 431 too_many_headers, and the incident is not opened`, async () => {
      const problem = await expectProblem(
        () => t.api.raw('POST', '/incidents', { body: INCIDENT, headers: { ...JSON_HEADERS, ...headers(MAX_HEADERS) } }),
        431,
        'too_many_headers',
      );
      expect(problem.limit).to.equal(MAX_HEADERS);
      expect(problem.detail).to.match(new RegExp(`^the request has \\d+ header fields; the limit is ${MAX_HEADERS}$`));
    });

    it('a few dozen headers are fine', async () => {
      const res = await t.api.raw('POST', '/incidents', { body: INCIDENT, headers: { ...JSON_HEADERS, ...headers(MAX_HEADERS - 30) } });
      expect(res.status, res.text).to.equal(201);
    });

    it(`headers over ${SERVER_LIMITS.maxHeaderSize} bytes in all: Node's own bare 431, before the app runs`, async () => {
      const before = await stored();
      const res = await t.api.raw('POST', '/incidents', { body: INCIDENT, headers: { ...JSON_HEADERS, 'x-pad': 'x'.repeat(SERVER_LIMITS.maxHeaderSize) } });
      expect(res.status).to.equal(431);
      expect(await stored()).to.deep.equal(before);
    });
  });
});

describe('the HTTP server (createHttpServer)', () => {
  it('has the slow-loris timeouts and the header-size limit of SERVER_LIMITS', () => {
    const server = createHttpServer(new Koa());
    expect(server.headersTimeout).to.equal(SERVER_LIMITS.headersTimeoutMs);
    expect(server.requestTimeout).to.equal(SERVER_LIMITS.requestTimeoutMs);
    expect(server.keepAliveTimeout).to.equal(SERVER_LIMITS.keepAliveTimeoutMs);
    // Set from createServer's options; @types/node does not declare it.
    expect((server as typeof server & { maxHeaderSize?: number }).maxHeaderSize).to.equal(SERVER_LIMITS.maxHeaderSize);
    // Node refuses a headers timeout longer than the request timeout.
    expect(SERVER_LIMITS.headersTimeoutMs).to.be.at.most(SERVER_LIMITS.requestTimeoutMs);
  });
});
