/**
 * Logging: JSON lines in production, readable lines in development. Every line
 * written while a request is handled carries its request id, taken from an
 * AsyncLocalStorage context, so callers never pass it around by hand.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import winston from 'winston';
import { redactTokens } from '../domain/tokens.ts';

export type Logger = winston.Logger;

export interface LogContext {
  /** The server's own id of the request being served. */
  request_id?: string;
  /** The X-Request-Id the client sent, when it was sane. */
  client_request_id?: string;
  /** The public id of the request's API token (never the token). */
  token?: string;
}

const context = new AsyncLocalStorage<LogContext>();

export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, fn);
}

const addContext = winston.format((info) => {
  const store = context.getStore();
  if (store) Object.assign(info, store);
  return info;
});

/** Errors passed as `{ error }` become their message, code and stack, not `{}`. */
const serializeErrors = winston.format((info) => {
  for (const [key, value] of Object.entries(info)) {
    if (value instanceof Error) {
      const code = (value as { code?: unknown }).code;
      info[key] = { name: value.name, message: value.message, ...(code ? { code } : {}), stack: value.stack };
    }
  }
  return info;
});

/**
 * API tokens never reach a log line, wherever a caller put one (a path, a query
 * string, a request id, an error message): each is cut to its public part. The code
 * never logs one on purpose; this catches what callers send where it does not belong.
 */
function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactTokens(value);
  if (depth > 6 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, redact(inner, depth + 1)]));
}

const redactEverything = winston.format((info) => {
  for (const [key, value] of Object.entries(info)) info[key] = redact(value);
  return info;
});

export interface LoggerOptions {
  level: string;
  format: 'json' | 'pretty';
  /** Extra transports (tests capture lines with one). */
  transports?: winston.Logger['transports'];
  /** A name for the process, on every line (api, worker, ...). */
  service?: string;
}

export function createLogger(options: LoggerOptions): Logger {
  const base = [winston.format.timestamp(), addContext(), serializeErrors(), redactEverything()];
  const format =
    options.format === 'json'
      ? winston.format.combine(...base, winston.format.json())
      : winston.format.combine(
          ...base,
          winston.format.colorize(),
          winston.format.printf(({ timestamp, level, message, service, ...rest }) => {
            const fields = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
            return `${String(timestamp)} ${level} [${String(service)}] ${String(message)}${fields}`;
          }),
        );
  return winston.createLogger({
    level: options.level,
    format,
    defaultMeta: { service: options.service ?? 'klaxon' },
    transports: options.transports ?? [new winston.transports.Console()],
  });
}
