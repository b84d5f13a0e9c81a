/**
 * A real HTTP server on 127.0.0.1 that records every request and answers as the test
 * scripts it: a status sequence, delays, Retry-After, a hang (no answer until it is
 * closed). The webhook and Teams tests talk to it directly; the Twilio and Slack
 * stand-ins are built on it.
 */
import { once } from 'node:events';
import { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { track } from '../leaks.ts';
import { waitFor } from '../waiting.ts';

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, as received (signatures are over these bytes). */
  body: string;
}

export interface Answer {
  /** Default 200. */
  status?: number;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (the connection stays open until the server closes). */
  hang?: boolean;
}

/** Decides the answer to a request no scripted answer was left for. */
export type Handler = (request: RecordedRequest) => Answer | Promise<Answer>;

export interface RecordingServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The answers to the next requests, in order (before the handler). */
  script(...answers: Answer[]): void;
  /** Resolves once `count` requests have arrived (hung ones included). */
  waitForRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startRecordingServer({
  handler = () => ({ status: 200 }),
  name = 'recording HTTP server',
}: { handler?: Handler; name?: string } = {}): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const scripted: Answer[] = [];
  const hanging = new Set<ServerResponse>();

  const server = createServer((incoming: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const request: RecordedRequest = {
        method: incoming.method ?? 'GET',
        path: incoming.url ?? '/',
        headers: incoming.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      void answerWith(scripted.shift() ?? handler(request), response);
    });
  });

  const answerWith = async (pending: Answer | Promise<Answer>, response: ServerResponse) => {
    const answer = await pending;
    if (answer.hang) {
      hanging.add(response);
      return;
    }
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (response.destroyed) return;
    const body = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    const type = typeof answer.body === 'string' || answer.body === undefined ? 'text/plain' : 'application/json';
    response.writeHead(answer.status ?? 200, { 'content-type': type, ...answer.headers });
    response.end(body);
  };

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const untrack = track(name);
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...answers) => void scripted.push(...answers),
    waitForRequests: (count) => waitFor(`${count} requests to the ${name}`, () => requests.length >= count),
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
      untrack();
    },
  };
}

/** The form parameters of a recorded urlencoded body. */
export function formOf(request: RecordedRequest): URLSearchParams {
  return new URLSearchParams(request.body);
}
