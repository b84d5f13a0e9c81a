/**
 * Limits on what a request may carry besides its body (src/api/request.ts caps that):
 * the request target, the number of query parameters, the number of headers, and no
 * token in X-Request-Id. They are
 * checked before any routing, so a refused request reaches no route, no validator and
 * no database. The server-level limits below are the ones Node enforces by itself on
 * the socket, before Koa sees a request.
 */
import type Koa from 'koa';
import { holdsToken } from '../domain/tokens.ts';
import { HttpProblem, validationProblem } from './problem.ts';

/**
 * Longest request target (path and query string, in bytes as sent). The longest one
 * the API's own schemas admit is a list-by-name page: `?limit=200&cursor=` and a
 * 2,000-character cursor (src/api/endpoints/pages.ts), under 2,048 bytes. Anything
 * longer is a 414 `uri_too_long`.
 */
export const MAX_URL_BYTES = 2048;

/**
 * Most `&`-separated query parameters. No route takes more than three; 32 leaves room
 * for tracing or cache-busting parameters a client or proxy adds, and bounds the work
 * of parsing a query (Node's querystring would otherwise silently keep the first 1,000).
 * Past it: 400 `validation_failed` naming `(query)` and the rule `maxProperties`.
 */
export const MAX_QUERY_PARAMETERS = 32;

/**
 * Most request header fields: Apache httpd's LimitRequestFields default. A client and
 * the proxies in front of the API send 10 to 30. Past it: 431 `too_many_headers`.
 */
export const MAX_HEADERS = 100;

/** The limits requestLimits() enforces. */
export interface RequestLimits {
  maxUrlBytes: number;
  maxQueryParameters: number;
  maxHeaders: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxUrlBytes: MAX_URL_BYTES,
  maxQueryParameters: MAX_QUERY_PARAMETERS,
  maxHeaders: MAX_HEADERS,
};

/**
 * Limits of the Node HTTP server (src/api/app.ts createHttpServer), enforced on the
 * socket before Koa runs, so Node answers them itself, without a problem body.
 */
export const SERVER_LIMITS = {
  /**
   * Largest request line plus headers, in bytes: past it Node answers a bare 431.
   * Half Node's 16 KiB default: a 2 KiB target (MAX_URL_BYTES) and 6 KiB of headers
   * (a bearer token, proxy headers) fit, and a connection pins less memory.
   */
  maxHeaderSize: 8 * 1024,
  /** Slow-loris: a client gets 10 s to send its headers (Node: a bare 408)... */
  headersTimeoutMs: 10_000,
  /** ...and 30 s for the whole request, body included. */
  requestTimeoutMs: 30_000,
  /**
   * How often Node checks the two timeouts above; its default (30 s) would let a slow
   * client hold a connection up to 40 s past a 10 s limit.
   */
  connectionsCheckingIntervalMs: 1_000,
} as const;

/** Refuses a request whose target, query string or headers are over the limits. */
export function requestLimits(limits: RequestLimits = DEFAULT_REQUEST_LIMITS): Koa.Middleware {
  return async (ctx, next) => {
    const target = ctx.req.url ?? '';
    const bytes = Buffer.byteLength(target, 'utf8');
    if (bytes > limits.maxUrlBytes) {
      throw new HttpProblem(414, 'uri_too_long', 'URI too long', `the request target is ${bytes} bytes; the limit is ${limits.maxUrlBytes}`, {
        limit_bytes: limits.maxUrlBytes,
      });
    }
    // Counted on the raw text, before anything parses it: `a=1&&b=2` is two parameters.
    const parameters = ctx.querystring.split('&').filter((part) => part !== '').length;
    if (parameters > limits.maxQueryParameters) {
      throw validationProblem('query', [
        { field: '(query)', rule: 'maxProperties', message: `has ${parameters} parameters; at most ${limits.maxQueryParameters} are allowed` },
      ]);
    }
    // A token where a request id goes would be kept in logs and the audit log: refuse it (and tell).
    if (holdsToken(ctx.get('x-request-id'))) {
      throw validationProblem('header', [
        { field: 'X-Request-Id', rule: 'format', message: 'holds an API token: never send a token anywhere but in Authorization (and revoke this one)' },
      ]);
    }
    // rawHeaders alternates names and values; a repeated header counts each time it is sent.
    const headers = ctx.req.rawHeaders.length / 2;
    if (headers > limits.maxHeaders) {
      throw new HttpProblem(
        431,
        'too_many_headers',
        'Request header fields too large',
        `the request has ${headers} header fields; the limit is ${limits.maxHeaders}`,
        {
          limit: limits.maxHeaders,
        },
      );
    }
    await next();
  };
}

/**
 * Sheds load: past `max` requests in this process at once, a request is answered 503
 * `overloaded` (Retry-After: 1) at once, before any lookup, instead of joining a queue
 * where every caller would wait (measured: an API process that creates ~190-230
 * incidents a second, offered 400 on 2,000 connections, answered everyone after 10.7 s
 * at the median, past most clients' timeouts; shedding, 0.9 s; `npm run bench -- --api`). The
 * router takes a place for every request but a liveness probe's (src/api/router.ts).
 */
export class InFlight {
  private count = 0;

  constructor(private readonly max: number) {}

  /** Takes a place, or throws the 503; call the returned function when the request is done. */
  enter(): () => void {
    if (this.count >= this.max) {
      throw new HttpProblem(
        503,
        'overloaded',
        'Overloaded',
        `this API process is serving ${this.max} requests already; retry in a second`,
        {},
        {
          'Retry-After': '1',
        },
      );
    }
    this.count += 1;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.count -= 1;
    };
  }
}
