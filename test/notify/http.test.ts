/**
 * post() itself (src/notify/channels/http.ts), against servers misbehaving below what the
 * recording stand-in can script: a peer that accepts the connection and never answers, an answer that stops half-way, an endless answer; and the keep-alive pool.
 */
import { once } from 'node:events';
import { type Server as HttpServer, createServer as createHttpServer } from 'node:http';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { expect } from 'chai';
import { post } from '../../src/notify/channels/http.ts';
import { never } from './fixtures.ts';

/** Resolves when the server's end of a connection is closed (a reset counts: that is the client dropping it). */
const closed = (socket: Socket) =>
  new Promise<void>((resolve) => {
    if (socket.destroyed) resolve();
    socket.on('error', () => undefined);
    socket.once('close', () => resolve());
  });

const json = { headers: { 'content-type': 'application/json' }, body: '{"hello":"world"}' };

/** Listens on 127.0.0.1; closes every connection it accepted when the test ends. */
async function listen<T extends Server | HttpServer>(server: T): Promise<{ url: string; sockets: Socket[]; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  server.on('connection', (socket: Socket) => sockets.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

describe("post (the HTTP channels' request)", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('gives up at its timeout on a peer that accepts the connection, reads the request and never answers, and drops that connection', async () => {
    // It reads (so it sees the connection end) and never writes a byte.
    const peer = await listen(createServer((socket) => socket.resume()));
    close = peer.close;
    const startedAt = performance.now();
    const result = await post(`${peer.url}/hook`, json, { timeoutMs: 150, signal: never() });
    expect(result).to.deep.equal({ answered: false, outcome: { status: 'transient', error: 'timed out after 150 ms' } });
    expect(performance.now() - startedAt).to.be.within(140, 1_000);
    expect(peer.sockets).to.have.length(1);
    await closed(peer.sockets[0]!); // we closed it: a hung connection is never reused
  });

  it('gives up at its timeout on an answer whose head arrived and whose body stalls', async () => {
    const peer = await listen(
      createHttpServer((request, response) => {
        request.resume();
        response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
        response.write('the first ten');
      }),
    );
    close = peer.close;
    const startedAt = performance.now();
    const result = await post(`${peer.url}/hook`, json, { timeoutMs: 150, signal: never() });
    expect(result).to.deep.equal({ answered: false, outcome: { status: 'transient', error: 'timed out after 150 ms' } });
    expect(performance.now() - startedAt).to.be.below(1_000);
  });

  it('reads at most maxAnswerBytes of an endless answer, then drops the connection', async () => {
    const peer = await listen(
      createHttpServer((request, response) => {
        request.resume();
        response.writeHead(500, { 'content-type': 'text/plain' });
        const chunk = 'x'.repeat(16 * 1024);
        const pump = () => {
          while (!response.destroyed && response.write(chunk));
          if (!response.destroyed) response.once('drain', pump);
        };
        pump();
      }),
    );
    close = peer.close;
    const result = await post(`${peer.url}/hook`, json, { timeoutMs: 2_000, signal: never(), maxAnswerBytes: 1_000 });
    expect(result.answered && { status: result.status, length: result.text.length }).to.deep.equal({ status: 500, length: 1_000 });
    await closed(peer.sockets[0]!);
  });

  it('reads a connection closed half-way through the answer as a transient network error', async () => {
    const peer = await listen(
      createHttpServer((request, response) => {
        request.resume();
        response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
        response.write('a part', () => response.socket?.destroy());
      }),
    );
    close = peer.close;
    const result = await post(`${peer.url}/hook`, json, { timeoutMs: 2_000, signal: never() });
    expect(result.answered).to.equal(false);
    expect(!result.answered && result.outcome.status).to.equal('transient');
    expect(!result.answered && result.outcome.status === 'transient' && result.outcome.error).to.match(/^network: /);
  });

  it('reuses one connection for requests to the same origin, and sends the body with its length', async () => {
    const bodies: string[] = [];
    const peer = await listen(
      createHttpServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          bodies.push(`${request.headers['content-length']}:${Buffer.concat(chunks).toString('utf8')}`);
          response.writeHead(200, { 'retry-after': '3', 'x-twice': ['a', 'b'] });
          response.end('ok');
        });
      }),
    );
    close = peer.close;
    const body = '{"é":1}';
    for (let i = 0; i < 3; i += 1) {
      const result = await post(`${peer.url}/hook`, { headers: {}, body }, { timeoutMs: 2_000, signal: never() });
      expect(
        result.answered && [result.status, result.text, result.headers.get('Retry-After'), result.headers.get('x-twice'), result.headers.get('absent')],
      ).to.deep.equal([200, 'ok', '3', 'a, b', null]);
    }
    expect(bodies).to.deep.equal(Array(3).fill(`${Buffer.byteLength(body)}:${body}`));
    expect(peer.sockets).to.have.length(1);
  });

  it('reads a header value that cannot be sent as a transient error, without throwing', async () => {
    const result = await post('http://127.0.0.1:9/hook', { headers: { 'x-bad': 'line\nbreak' }, body: '' }, { timeoutMs: 1_000, signal: never() });
    // Refused before any I/O (port 9 would refuse the connection: a different error).
    expect(!result.answered && result.outcome).to.deep.equal({ status: 'transient', error: 'network: Invalid character in header content ["x-bad"]' });
  });
});
