/**
 * Whether an error means "the database cannot take this right now", and why: it does
 * not answer (unavailable), or this process has every pooled connection busy and the
 * request waited its turn in vain (overloaded: Postgres itself may be fine).
 */

// Network errors, Postgres shutting down or restarting (57P0x), too many connections (53300).
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '53300']);

/**
 * pg-pool's connectionTimeoutMillis expiring while the request waited in the pool's
 * queue (every connection checked out): pg-pool's own message, it has no code. A new
 * connection that could not be made in time fails otherwise ("Connection terminated
 * due to connection timeout"), which is the database not answering.
 */
const POOL_QUEUE_TIMEOUT = /^timeout exceeded when trying to connect$/;

export type DatabaseBusy = 'unavailable' | 'overloaded';

export function databaseBusy(error: unknown): DatabaseBusy | undefined {
  if (error instanceof Error && POOL_QUEUE_TIMEOUT.test(error.message)) return 'overloaded';
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return 'unavailable';
  if (error instanceof Error && /Connection terminated/i.test(error.message)) return 'unavailable';
  return undefined;
}

/** Either: the call may succeed if tried again later. */
export function isDatabaseUnavailable(error: unknown): boolean {
  return databaseBusy(error) !== undefined;
}
