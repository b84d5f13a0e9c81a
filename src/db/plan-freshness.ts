/**
 * Cached plans follow the tables' growth.
 *
 * Every statement of ours is a named prepared statement (./queries.ts). After five runs
 * on a connection, Postgres keeps one generic plan for it, made with the tables' sizes
 * of that moment, and makes it again only when a table's statistics change (ANALYZE,
 * VACUUM, DDL). A plan made while a table was nearly empty reads it whole, which is the
 * cheapest way to read one page, and goes on reading it whole after a storm has brought
 * it to 100,000 rows, until autovacuum comes round to it, a minute or more later
 * (autovacuum_naptime). Measured with `npm run -s bench -- --rate 5000 --duration 20
 * --workers 2`, whose workers warm up on empty tables before 100,000 escalations are
 * seeded: in the runs where autovacuum had not yet analyzed the new tables, each batch
 * hash-joined a sequential scan of `incidents` and of `escalations`, and a bitmap scan
 * of every PENDING row, Postgres spent 0.30 ms of CPU an execution instead of 0.22, the
 * batches grew to 230-500 rows and the p99 at commit was 650-2,200 ms instead of
 * 100-200 (auto_explain showed the plans).
 *
 * The foreign keys' checks cache their plans the same way: each row inserted into
 * `escalations` or `incident_events` then read the whole of `incidents`.
 *
 * So each process watches its tables' sizes (pg_relation_size: the file as it is now,
 * which the statistics are not), and when one has grown GROWTH_FACTOR-fold since the
 * plans were made, and is past MIN_PAGES (below which reading it whole costs little),
 * it throws its plans away: each connection runs DISCARD PLANS before its next
 * statement, and the next run of each statement, or of a foreign key's check, plans
 * over the tables as they are. The prepared statements stay; only their plans go.
 * From 512 KiB to 64 GiB a table grows fourfold eight times, so this happens fewer
 * than ten times per table, not with the traffic.
 *
 * Making the plans again costs each connection a parse analysis and a plan per
 * statement, on the busy CPU a storm brings: a few ms a connection. With the bounds at
 * twice and 16 pages, an API starting on empty tables did it every second or two of
 * `npm run -s bench -- --intake 500` and its first second got slower (p99 185-315 ms);
 * at four times and 64 pages it was faster than without any of this in each of three
 * interleaved pairs (first second 87-170 ms against 187-290; whole runs 52-70 against
 * 62-81).
 */
import type pg from 'pg';
import type { Logger } from '../log/logger.ts';

/** Below this size (512 KiB with 8 KiB pages, a few hundred microseconds to read) a table read whole costs little, whatever the plan. */
export const MIN_PAGES = 64;
/** How much a table must have grown since the plans were made for them to be made again. */
export const GROWTH_FACTOR = 4;
/** How often the sizes are read: one cheap statement (no table is read, only file sizes). */
export const CHECK_INTERVAL_MS = 1_000;

/** The ordinary tables of the schema the statements resolve to, with their sizes in pages. */
const SIZES_QUERY = `
  SELECT c.relname AS table, pg_relation_size(c.oid) / current_setting('block_size')::bigint AS pages
  FROM pg_class c
  WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'`;

export interface Growth {
  table: string;
  /** Its size when the plans were last made (0: not seen then). */
  fromPages: number;
  pages: number;
}

export class PlanFreshness {
  /** Sizes the plans were made with: read before any plan is, and again each time they are thrown away. */
  private baseline = new Map<string, number>();
  /** Bumped each time the plans are thrown away; a connection that has seen an older one discards its own. */
  private generation = 0;
  private readonly seen = new WeakMap<pg.PoolClient, number>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<Growth[]> | undefined;
  private failing = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
  ) {
    // A new connection has planned nothing yet: it starts at the current generation.
    pool.on('connect', (client) => this.seen.set(client, this.generation));
    pool.on('acquire', (client) => this.onAcquire(client));
  }

  /**
   * Reads the sizes the plans are about to be made with (call before the process plans
   * anything: its warm-up), then checks them every CHECK_INTERVAL_MS. Never throws: if
   * the sizes cannot be read, every table counts as empty, so the first check that reads
   * them throws away whatever was planned meanwhile (once, on tables past MIN_PAGES).
   */
  async start(intervalMs = CHECK_INTERVAL_MS): Promise<void> {
    try {
      this.baseline = await this.sizes();
    } catch (error) {
      this.failed(error);
    }
    this.timer = setInterval(() => void this.check(), intervalMs);
    // Freshness is no reason to keep a process alive.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Reads the sizes once; when a table has grown past the bounds, every connection will
   * discard its plans before its next statement. Returns the tables that grew (none: the
   * plans stay). Never throws: a failure is logged once, and the next check tries again.
   */
  check(): Promise<Growth[]> {
    // One at a time: a check that outlives the interval is not joined by another.
    this.checking ??= this.checkOnce().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async checkOnce(): Promise<Growth[]> {
    let sizes: Map<string, number>;
    try {
      sizes = await this.sizes();
    } catch (error) {
      this.failed(error);
      return [];
    }
    if (this.failing) this.logger.info("reading the tables' sizes works again");
    this.failing = false;
    const grown: Growth[] = [];
    for (const [table, pages] of sizes) {
      const fromPages = this.baseline.get(table) ?? 0;
      if (pages >= MIN_PAGES && pages >= GROWTH_FACTOR * fromPages) grown.push({ table, fromPages, pages });
    }
    if (grown.length === 0) return grown;
    this.baseline = sizes;
    this.generation += 1;
    this.logger.info('tables grew since their plans were made: every connection plans its statements again', { grown });
    return grown;
  }

  /** One line when reading the sizes starts failing (Postgres unreachable is logged by whoever needed it), none while it goes on. */
  private failed(error: unknown): void {
    if (!this.failing) this.logger.warn("reading the tables' sizes failed; cached plans are kept until it works again", { error });
    this.failing = true;
  }

  private async sizes(): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ table: string; pages: string }>(SIZES_QUERY);
    return new Map(rows.map((row) => [row.table, Number(row.pages)]));
  }

  /**
   * The pool hands a connection out: if its plans are older than the last growth, it
   * discards them first. The client queues its statements, so DISCARD PLANS runs before
   * whatever the caller sends; its failure (a connection lost) is the caller's too.
   */
  private onAcquire(client: pg.PoolClient): void {
    if ((this.seen.get(client) ?? this.generation) >= this.generation) return;
    this.seen.set(client, this.generation);
    client.query('DISCARD PLANS').catch((error: unknown) => this.logger.debug('DISCARD PLANS failed', { error }));
  }
}
