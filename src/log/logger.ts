/**
 * Logging: JSON lines in production, readable lines in development. Every line
 * written while a request is handled carries its request id, taken from an
 * AsyncLocalStorage context, so callers never pass it around by hand.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import winston from 'winston';

export type Logger = winston.Logger;

export interface LogContext {
  request_id?: string;
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

export interface LoggerOptions {
  level: string;
  format: 'json' | 'pretty';
  /** Extra transports (tests capture lines with one). */
  transports?: winston.Logger['transports'];
  /** A name for the process, on every line (api, worker, ...). */
  service?: string;
}

export function createLogger(options: LoggerOptions): Logger {
  const base = [winston.format.timestamp(), addContext(), serializeErrors()];
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
