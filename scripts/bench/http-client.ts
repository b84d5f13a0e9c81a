/**
 * The HTTP client of the API benchmark (scripts/bench/api.ts): HTTP/1.1 on up to C
 * keep-alive TCP connections, one request at a time on each (no pipelining), each
 * answer read whole (status line, headers, then a Content-Length or chunked body)
 * before its connection takes the next request; the requests beyond C wait their turn
 * in order, as they do in node:http's Agent with maxSockets. The API serves exactly
 * what it serves any client.
 *
 * Why not node:http: the client shares the two cores with the API, Postgres and the
 * worker, and http.request cost it 0.57 ms of CPU per request on the 2-core
 * development machine (process.cpuUsage() around the load, client_cpu_percent), a
 * third of what the API spent serving it: at 800 requests a second the bench took a
 * quarter of the machine from what it measures. This one writes the request's bytes
 * and scans the answer's: 0.2 ms a request, under the same load.
 */
import { type Socket, connect } from 'node:net';

export interface HttpAnswer {
  /** The HTTP status; 0 when the connection failed (code: the socket's error code). */
  status: number;
  body: string;
  code?: string;
  /** When its bytes were written to a connection (performance.now()); before that, it waited for one to be free. */
  sentAt?: number;
}

interface Waiting {
  request: Buffer;
  resolve: (answer: HttpAnswer) => void;
  sentAt?: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** What is known of an answer once its head has arrived. */
interface Head {
  status: number;
  /** Where the body starts in the buffer. */
  bodyStart: number;
  contentLength: number | undefined;
  chunked: boolean;
  close: boolean;
}

function parseHead(buffer: Buffer, end: number): Head {
  const lines = buffer.toString('latin1', 0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP/1.x answer: ${JSON.stringify(lines[0])}`);
  let contentLength: number | undefined;
  let chunked = false;
  let close = false;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line
      .slice(colon + 1)
      .trim()
      .toLowerCase();
    if (name === 'content-length') contentLength = Number(value);
    else if (name === 'transfer-encoding') chunked = value.includes('chunked');
    else if (name === 'connection') close = value === 'close';
  }
  return { status, bodyStart: end + HEADER_END.length, contentLength, chunked, close };
}

/** A chunked body decoded, or undefined while its last chunk has not arrived. */
function dechunk(buffer: Buffer, start: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(buffer.toString('latin1', at, lineEnd), 16);
    if (!Number.isFinite(size)) throw new Error('a chunked answer with a bad chunk size');
    const dataStart = lineEnd + 2;
    if (size === 0) {
      // No trailers expected: the empty line that ends the body.
      const end = buffer.indexOf('\r\n', dataStart);
      return end < 0 ? undefined : { body: Buffer.concat(parts), end: end + 2 };
    }
    if (buffer.length < dataStart + size + 2) return undefined;
    parts.push(buffer.subarray(dataStart, dataStart + size));
    at = dataStart + size + 2;
  }
}

class Connection {
  private readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private head: Head | undefined;
  private current: Waiting | undefined;
  private closed = false;

  constructor(
    host: string,
    port: number,
    /** Called when the connection is free for the next request (or gone: `alive` false). */
    private readonly onFree: (connection: Connection, alive: boolean) => void,
  ) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.received(chunk));
    this.socket.on('error', (error: NodeJS.ErrnoException) => this.fail(error.code ?? 'connection_error'));
    this.socket.on('close', () => this.fail('ECONNRESET'));
  }

  send(waiting: Waiting): void {
    this.current = waiting;
    waiting.sentAt = performance.now();
    this.socket.write(waiting.request);
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      if (!this.head) {
        const end = this.buffer.indexOf(HEADER_END);
        if (end < 0) return;
        this.head = parseHead(this.buffer, end);
      }
      const { status, bodyStart, contentLength, chunked, close } = this.head;
      let body: Buffer;
      let rest: number;
      if (chunked) {
        const decoded = dechunk(this.buffer, bodyStart);
        if (!decoded) return;
        ({ body, end: rest } = decoded);
      } else {
        // No length and not chunked: only a body-less answer is expected from the API.
        const length = contentLength ?? 0;
        if (this.buffer.length < bodyStart + length) return;
        body = this.buffer.subarray(bodyStart, bodyStart + length);
        rest = bodyStart + length;
      }
      const done = this.current;
      this.current = undefined;
      this.head = undefined;
      this.buffer = this.buffer.subarray(rest);
      done?.resolve({ status, body: body.toString('utf8'), sentAt: done.sentAt });
      if (close) {
        this.destroy();
        this.onFree(this, false);
      } else {
        this.onFree(this, true);
      }
    } catch (error) {
      this.fail((error as Error).message);
    }
  }

  private fail(code: string): void {
    const failed = this.current;
    this.current = undefined;
    const wasOpen = !this.closed;
    this.destroy();
    failed?.resolve({ status: 0, body: '', code, sentAt: failed.sentAt });
    if (wasOpen) this.onFree(this, false);
  }
}

export class HttpClient {
  private readonly idle: Connection[] = [];
  private readonly waiting: Waiting[] = [];
  private readonly all = new Set<Connection>();
  private readonly host: string;
  private readonly port: number;

  constructor(
    baseUrl: string,
    /** The most connections open at once. */
    private readonly maxConnections: number,
  ) {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:') throw new Error(`only http:, not ${url.protocol}`);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
  }

  /** The bytes of a request to this client's server. */
  request(method: string, path: string, headers: Record<string, string>, body: string): Buffer {
    const bodyBytes = Buffer.from(body, 'utf8');
    const lines = [`${method} ${path} HTTP/1.1`, `host: ${this.host}:${this.port}`, `content-length: ${bodyBytes.length}`];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bodyBytes]);
  }

  /** Sends `request` (made by request()) on a free connection, or when one frees up. */
  send(request: Buffer): Promise<HttpAnswer> {
    return new Promise((resolve) => {
      const waiting = { request, resolve };
      const connection = this.idle.pop() ?? this.open();
      if (connection) connection.send(waiting);
      else this.waiting.push(waiting);
    });
  }

  close(): void {
    for (const connection of this.all) connection.destroy();
    this.all.clear();
    this.idle.length = 0;
  }

  private open(): Connection | undefined {
    if (this.all.size >= this.maxConnections) return undefined;
    const connection = new Connection(this.host, this.port, (freed, alive) => this.freed(freed, alive));
    this.all.add(connection);
    return connection;
  }

  private freed(connection: Connection, alive: boolean): void {
    if (!alive) {
      this.all.delete(connection);
      // A connection that failed while idle.
      const at = this.idle.indexOf(connection);
      if (at >= 0) this.idle.splice(at, 1);
    }
    const next = this.waiting.shift();
    if (!next) {
      if (alive) this.idle.push(connection);
      return;
    }
    const to = alive ? connection : this.open();
    if (to) to.send(next);
    else this.waiting.unshift(next);
  }
}
