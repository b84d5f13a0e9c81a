/** Whether an error means "the database is not reachable right now" (not a bad query). */

// Network errors, Postgres shutting down or restarting (57P0x), too many connections (53300).
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '53300']);

export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) ||
    // pg-pool's connectionTimeoutMillis expiring: no code, only this message.
    (error instanceof Error && /timeout exceeded when trying to connect|Connection terminated/i.test(error.message))
  );
}
