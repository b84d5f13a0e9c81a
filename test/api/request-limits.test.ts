/**
 * Limits on the request target, the query string and the headers
 * (src/api/request-limits.ts): refused before routing, as a problem, with nothing
 * stored changed; past Node's own header-size limit, Node answers a bare 431 itself.
 */
import { expect } from 'chai';
import Koa from 'koa';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { Agent, get as httpGet } from 'node:http';
import { type AddressInfo, connect as netConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeHttpServer, createHttpServer } from '../../src/api/app.ts';
import { MAX_HEADERS, MAX_QUERY_PARAMETERS, MAX_URL_BYTES, SERVER_LIMITS } from '../../src/api/request-limits.ts';
import { KEEP_ALIVE_TIMEOUT_MS, type TestContext, createTestContext } from '../support/context.ts';
import type { ApiResponse } from '../support/http.ts';
import { type Problem, peopleState } from '../support/people.ts';
import { storedState } from '../support/snapshot.ts';
import { waitFor } from '../support/waiting.ts';

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

describe('the HTTP server (createHttpServer, closeHttpServer)', () => {
  /** A server whose GET /slow answers when `release()` is called, GET /fast at once. */
  async function slowServer(keepAliveTimeoutMs = KEEP_ALIVE_TIMEOUT_MS) {
    let release: () => void = () => undefined;
    let markStarted: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const paths: string[] = [];
    const app = new Koa();
    app.use(async (ctx) => {
      paths.push(ctx.path);
      if (ctx.path === '/slow') {
        markStarted();
        await released;
      }
      ctx.body = 'ok';
    });
    const server: Server = createHttpServer(app, keepAliveTimeoutMs);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { server, port: (server.address() as AddressInfo).port, started, release, paths };
  }

  /** A raw connection: what it received, and whether (and when) it closed. */
  function connect(port: number) {
    const socket = netConnect(port, '127.0.0.1');
    const state = { received: '', closed: false };
    socket.on('data', (chunk: Buffer) => (state.received += chunk.toString()));
    const closed = once(socket, 'close').then(() => (state.closed = true));
    return { socket, state, closed };
  }

  it('has the slow-loris timeouts, the header-size limit of SERVER_LIMITS, and the keep-alive timeout it is given', () => {
    const server = createHttpServer(new Koa(), 75_000);
    expect(server.headersTimeout).to.equal(SERVER_LIMITS.headersTimeoutMs);
    expect(server.requestTimeout).to.equal(SERVER_LIMITS.requestTimeoutMs);
    expect(server.keepAliveTimeout).to.equal(75_000);
    // Set from createServer's options; @types/node does not declare it.
    expect((server as typeof server & { maxHeaderSize?: number }).maxHeaderSize).to.equal(SERVER_LIMITS.maxHeaderSize);
    // Node refuses a headers timeout longer than the request timeout.
    expect(SERVER_LIMITS.headersTimeoutMs).to.be.at.most(SERVER_LIMITS.requestTimeoutMs);
  });

  it('tells clients how long it keeps an idle connection (longer than the 60 s of most proxies in front)', async () => {
    const { server, port } = await slowServer();
    try {
      const client = connect(port);
      client.socket.write('GET /fast HTTP/1.1\r\nhost: x\r\n\r\n');
      await waitFor('the answer', () => client.state.received.includes('ok'));
      expect(client.state.received).to.match(/\r\nKeep-Alive: timeout=75\r\n/i);
      expect(KEEP_ALIVE_TIMEOUT_MS).to.be.above(60_000);
      client.socket.destroy();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('on close, refuses new connections at once, answers the request in flight, and a request sent after close() on a connection it holds with "Connection: close"', async function () {
    // The keep-alive timeout, 75 s, is far beyond this test's timeout: a connection held for it fails the test.
    this.timeout(5_000);
    const { server, port, started, release, paths } = await slowServer();
    const busy = connect(port);
    busy.socket.write('GET /slow HTTP/1.1\r\nhost: x\r\n\r\n');
    await started;

    const closing = closeHttpServer(server, 200);
    const refused = await new Promise<string>((resolve) => {
      const late = netConnect(port, '127.0.0.1');
      late.on('connect', () => resolve('connected'));
      late.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).to.equal('ECONNREFUSED');
    // A proxy's next request on the connection it holds, sent after close().
    busy.socket.write('GET /fast HTTP/1.1\r\nhost: x\r\n\r\n');
    await waitFor('the request sent after close() to reach the app', () => paths.length === 2);
    release();
    await busy.closed;
    await closing;
    const answers = busy.state.received.split(/(?=HTTP\/1\.1 )/);
    expect(answers).to.have.length(2);
    // The one in flight is not told "close": a request pipelined behind it would be served and never answered.
    expect(answers[0]).to.match(/^HTTP\/1\.1 200 [^]*\r\nConnection: keep-alive\r\n/i);
    expect(answers[1]).to.match(/^HTTP\/1\.1 200 [^]*\r\nConnection: close\r\n/i);
  });

  it('on close, a connection idle at that moment still gets its next request answered ("Connection: close"); one that sent nothing is closed when the drain ends', async function () {
    this.timeout(5_000);
    const { server, port } = await slowServer();
    const idle = connect(port);
    idle.socket.write('GET /fast HTTP/1.1\r\nhost: x\r\n\r\n');
    await waitFor('the first answer', () => idle.state.received.includes('ok'));
    const spare = connect(port);
    await once(spare.socket, 'connect');

    const closing = closeHttpServer(server, 300);
    // Node's own close() would have closed both at once: a request sent now would meet a reset.
    idle.socket.write('GET /fast HTTP/1.1\r\nhost: x\r\n\r\n');
    await idle.closed;
    expect(idle.state.received.split(/(?=HTTP\/1\.1 )/)[1]).to.match(/^HTTP\/1\.1 200 [^]*\r\nConnection: close\r\n/i);
    // The spare one, which sent nothing, is closed at the end of the drain.
    await spare.closed;
    expect(spare.state.received).to.equal('');
    await closing;
  });

  it('on close, a client sending request after request on keep-alive connections gets every request it sent answered, none reset', async function () {
    this.timeout(5_000);
    const { server, port } = await slowServer();
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const outcomes: Record<string, number> = {};
    let stop = false;
    const get = () =>
      new Promise<string>((resolve) => {
        const req = httpGet({ host: '127.0.0.1', port, path: '/fast', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(`${res.statusCode} ${res.headers.connection}`));
        });
        req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
    const loops = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const outcome = await get();
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        if (outcome === 'ECONNREFUSED') return;
      }
    });
    await waitFor('traffic on every connection', () => (outcomes['200 keep-alive'] ?? 0) >= 50);
    await closeHttpServer(server, 300);
    stop = true;
    await Promise.all(loops);
    agent.destroy();
    // Each connection's last answer said "close"; then the loops met the closed listener.
    expect(Object.keys(outcomes).sort()).to.deep.equal(['200 close', '200 keep-alive', 'ECONNREFUSED']);
  });

  it('answers a request still in flight when the drain ends, then closes its connection as soon as it is idle', async function () {
    this.timeout(5_000);
    const { server, port, started, release } = await slowServer();
    const busy = connect(port);
    busy.socket.write('GET /slow HTTP/1.1\r\nhost: x\r\n\r\n');
    await started;
    let closed = false;
    const closing = closeHttpServer(server, 100).then(() => (closed = true));
    await sleep(300);
    expect(closed).to.equal(false);
    release();
    await busy.closed;
    await closing;
    // It was received before close(): not told "close", and closed all the same (Node would hold it 75 s).
    expect(busy.state.received).to.match(/^HTTP\/1\.1 200 [^]*\r\nConnection: keep-alive\r\n/i);
  });
});
