/**
 * The audit log of write requests: one audit_log row for every authenticated request
 * that is not a read (GET, HEAD, OPTIONS), done or refused. Who (the token), what
 * (method, route, path), when, how it ended (the status), and the request ids.
 *
 * A request that changes something writes its row inside the transaction of the
 * change (a commit hook, src/db/transaction.ts): the row and the change commit
 * together or not at all, so no crash, pool timeout or restart can keep one without
 * the other. A request refused before it changed anything (403, 400, 409, 429, a 503)
 * has no such transaction: its row is queued and written in batches, in transactions
 * of their own, retried with backoff while the database is unreachable or overloaded.
 * Such a row can still be lost, and only such a one: when the database stays
 * unreachable past the retries, when the queue is full, or when the process dies
 * before the queue is written. Each loss is counted in
 * klaxon_audit_rows_lost_total and logged (as an episode, not once per row).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Koa from 'koa';
import type pg from 'pg';
import { actorLabel } from '../auth/principal.ts';
import { redactTokens } from '../domain/tokens.ts';
import type { Clock } from '../clock/clock.ts';
import { type AuditEntry, insertAuditRows } from '../db/audit-log.ts';
import { type CommitHook, inTransaction, withoutCommitHook } from '../db/transaction.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { EpisodeLog } from '../log/episode.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { isReadMethod, principalIfAny, routeOf } from './request-state.ts';

/** One row of the audit log (src/db/audit-log.ts writes them). */
export type AuditRow = AuditEntry;

export interface AuditLogOptions {
  /** Refused requests' rows waiting to be written; past it, new ones are dropped (and counted). */
  maxQueued?: number;
  /** Rows written per statement. */
  batchSize?: number;
  /** Waits between attempts at a batch while the database cannot take it; then the batch is dropped (and counted). */
  retryDelaysMs?: readonly number[];
}

const DEFAULTS: Required<AuditLogOptions> = {
  maxQueued: 10_000,
  batchSize: 200,
  // About 30 s in all: a Postgres restart or failover fits.
  retryDelaysMs: [100, 500, 2_000, 5_000, 10_000, 12_000],
};

/** The longest path kept (audit_log.path's CHECK). */
const MAX_PATH = 2048;

export class AuditLog {
  private readonly options: Required<AuditLogOptions>;
  private readonly queue: AuditRow[] = [];
  private writer: Promise<void> | undefined;
  private readonly losses: EpisodeLog;

  constructor(
    private readonly deps: { pool: pg.Pool; clock: Clock; logger: Logger; metrics: Metrics },
    options: AuditLogOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.losses = new EpisodeLog(deps.logger, {
      level: 'error',
      started: 'audit rows of refused requests are being lost (see klaxon_audit_rows_lost_total)',
      continuing: 'audit rows of refused requests are still being lost',
      ended: 'audit rows of refused requests are written again',
    });
  }

  /** Whether a request is audited: a caller with a token, and a method that may write. */
  static covers(ctx: Koa.Context): boolean {
    return principalIfAny(ctx) !== undefined && !isReadMethod(ctx.method);
  }

  /** The row of an audited request, as it stands (or with the status it will end with). */
  rowOf(ctx: Koa.Context, status: number): AuditRow {
    const principal = principalIfAny(ctx);
    if (!principal) throw new Error('only requests with a principal are audited');
    return this.rowFor(ctx, { tokenId: principal.tokenId, actor: actorLabel(principal), teamId: principal.teamId }, status);
  }

  /**
   * The row of a request made by `who`: a token's principal (rowOf), or a caller with a
   * credential of another kind (a person acting from a message, an integration key).
   */
  rowFor(ctx: Koa.Context, who: { tokenId: string | null; actor: string; teamId: string | null }, status: number): AuditRow {
    return {
      occurredAt: this.deps.clock.now(),
      ...who,
      method: ctx.method,
      route: routeOf(ctx) ?? null,
      // A token pasted into a path must not be kept in a table that is never scrubbed.
      path: redactTokens(ctx.path).slice(0, MAX_PATH),
      status,
      requestId: ctx.state.requestId as string,
      clientRequestId: (ctx.state.clientRequestId as string | undefined) ?? null,
    };
  }

  /** The hook that writes a request's row, with the status it succeeds with, in the transaction of its change. */
  commitHook(ctx: Koa.Context, successStatus: number): CommitHook {
    return {
      committed: false,
      rows: () => [this.rowOf(ctx, successStatus)],
    };
  }

  /** A row written now, in a transaction of its own (a write request that succeeded without a transaction). */
  async writeNow(row: AuditRow): Promise<void> {
    await insertAuditRows(this.deps.pool, [row]);
  }

  /** A refused request's row: written in the background, batched and retried. */
  enqueue(row: AuditRow): void {
    if (this.queue.length >= this.options.maxQueued) {
      this.lose(1, 'the queue of audit rows is full');
      return;
    }
    this.queue.push(row);
    // Started from a request, but no part of its change: no commit hook may ride along.
    this.writer ??= withoutCommitHook(() => this.drain()).finally(() => {
      this.writer = undefined;
    });
  }

  /** Resolves once every queued row is written or given up (tests; a graceful stop). */
  async idle(): Promise<void> {
    while (this.writer) await this.writer;
  }

  /** How many rows wait to be written. */
  get queued(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.batchSize);
      await this.writeBatch(batch);
    }
  }

  private async writeBatch(batch: AuditRow[]): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await inTransaction(this.deps.pool, (client) => insertAuditRows(client, batch));
        if (this.losses.active) this.losses.close();
        return;
      } catch (error) {
        const delay = this.options.retryDelaysMs[attempt];
        if (delay === undefined || !isDatabaseUnavailable(error)) {
          this.lose(batch.length, 'writing them failed', error);
          return;
        }
        await sleep(delay);
      }
    }
  }

  private lose(count: number, reason: string, error?: unknown): void {
    this.deps.metrics.recordAuditRowsLost(count);
    this.losses.record({ reason, rows: count, ...(error ? { error } : {}) });
  }
}

/**
 * The middleware that writes the row of an audited request whose change did not
 * commit it (refused, failed, or made without a transaction). It wraps the problem
 * handler, so the status it records is the one the caller got.
 */
export function auditTrail(audit: AuditLog): Koa.Middleware {
  return async (ctx, next) => {
    await next();
    if (!AuditLog.covers(ctx)) return;
    const hook = ctx.state.auditHook as CommitHook | undefined;
    if (hook?.committed) return;
    const row = audit.rowOf(ctx, ctx.status);
    // A success without a transaction is rare (nothing to change): its row is written before the answer.
    if (ctx.status < 400) await audit.writeNow(row).catch(() => audit.enqueue(row));
    else audit.enqueue(row);
  };
}
