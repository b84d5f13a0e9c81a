/**
 * The notifier (issue 11): delivers the outbox rows the engine wrote. Any number may run
 * (`npm run notifier`); it needs Postgres only, never Redis.
 *
 * Delivering a row:
 * 1. claim due rows in a SHORT transaction (notifications-claim.sql: FOR UPDATE SKIP
 *    LOCKED, a lease, claim + 1 as the fencing token), re-checking the incident in the
 *    same statement (an escalation notification of an incident that no longer escalates
 *    is SKIPPED with the reason), and settle the throttled ones (./throttle.ts: SKIPPED
 *    'throttled', or FOLDED into the destination's digest) before that transaction ends;
 * 2. send each through its channel with NO transaction open (a stalled notifier holds no
 *    lock: DESIGN.md invariant 7), at most `concurrency` at once and `providerPerSecond`
 *    per channel;
 * 3. record the attempt and the outcome in one statement guarded by the claim (a
 *    notifier whose lease was taken over changes nothing, not even the attempts log);
 *    a failure for good (retries spent, or permanent) also writes the fallback to the
 *    person's next contact method and, when every method of the page failed, the
 *    incident's `notification_failed` event, in one short transaction.
 *
 * The loop is a pipeline: up to `concurrency` sends in flight, and as soon as a slot is
 * free it claims again, at most the free slots (at most `batchSize`). It never waits for a
 * whole batch to finish before claiming: a row committed while 100 others are being sent
 * is claimed when the first slot frees, not after the 100th send (issue 11's notify
 * benchmark: the batch-at-a-time loop queued rows for seconds). Under load the claims
 * grow by themselves: one claim runs at a time and takes every slot freed meanwhile.
 * `runOnce` (the tests, `drain`) is one pass: claim up to `batchSize` rows due now, send
 * them, return when every send is recorded.
 *
 * Throttles are decided at the claim (./throttle.ts) from what is SENT in the database,
 * plus the escalation sends this notifier has in flight: a row claimed while an earlier
 * one to the same method or destination is still being sent counts it, as it would have
 * when both were in one batch.
 *
 * Retries: ./retry.ts. With nothing to claim, the loop sleeps until the earliest
 * next_attempt_at (or `maxSleepMs`), woken early by NOTIFY klaxon_notifications (LISTEN
 * on a connection of its own), a retry or fallback it wrote, or, when every slot was
 * busy with rows still due, a slot freeing. Nothing here touches escalations: a failing
 * channel never delays a level.
 *
 * Stop: no new claims; the sends in flight finish and are recorded; then it returns.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Clock } from '../clock/clock.ts';
import { appendEvents } from '../db/events.ts';
import { ChannelListener } from '../db/listener.ts';
import { run, sql } from '../db/queries.ts';
import { inTransaction } from '../db/transaction.ts';
import type { NewEvent } from '../domain/events.ts';
import type { IncidentState } from '../domain/incident-states.ts';
import { NOTIFICATIONS_CHANNEL } from '../engine/notifications.ts';
import type { Logger } from '../log/logger.ts';
import { EpisodeLog } from '../log/episode.ts';
import type { Channel, DeliveryOutcome } from './channels/channel.ts';
import type { ChannelSet } from './channel-set.ts';
import type { LinkSettings } from './links.ts';
import { type ClaimedRow, DIGEST_NAMED, type DigestItems, contextOf, messageOf } from './messages.ts';
import { ProviderRate } from './rate.ts';
import { retryDelayMs } from './retry.ts';
import { DIGEST_WINDOW_MS, decideThrottles, digestFor } from './throttle.ts';

export interface NotifierOptions {
  batchSize: number;
  concurrency: number;
  leaseMs: number;
  maxSleepMs: number;
  throttleWindowMs: number;
  destinationPerMinute: number;
  providerPerSecond: number;
}

/** What the notifier counts (src/metrics/notifications.ts implements it). */
export interface NotifierMetrics {
  recordOutcome(channel: string, outcome: 'sent' | 'failed' | 'skipped' | 'folded' | 'retried'): void;
  /** From the row's due time (its level's commit, plus the rule's delay) to the provider accepting it. */
  observeLatency(channel: string, seconds: number): void;
}

export interface NotifierHooks {
  /** Between a send and the write of its outcome (a test stalls a notifier there). */
  beforeRecord?(row: ClaimedRow): Promise<void>;
}

export interface NotifierDeps {
  pool: pg.Pool;
  clock: Clock;
  logger: Logger;
  channels: ChannelSet;
  links: LinkSettings;
  options: NotifierOptions;
  metrics?: NotifierMetrics;
  /** A new unconnected client for LISTEN (createClient in src/db/pool.ts); absent: no LISTEN, the timer alone wakes it. */
  listenClient?: () => pg.Client;
  /** In [0, 1): the backoff's jitter (tests pin it). */
  random?: () => number;
  hooks?: NotifierHooks;
}

export interface PassSummary {
  claimed: number;
  sent: number;
  retried: number;
  failed: number;
  skipped: number;
  folded: number;
  /** Rows whose claim was lost before their outcome was written (a stalled notifier). */
  lost: number;
}

const emptySummary = (): PassSummary => ({ claimed: 0, sent: 0, retried: 0, failed: 0, skipped: 0, folded: 0, lost: 0 });

/** Reply codes: 4 digits while they are easily unique, longer when they collide. */
const REPLY_CODE_LENGTHS = [4, 4, 4, 6, 6, 6, 8, 8, 8, 8];

export class Notifier {
  private readonly rate: ProviderRate;
  private readonly random: () => number;
  private listener: ChannelListener | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake = new AbortController();
  /** A NOTIFY, a fallback or a retry arrived: look for due rows at once. */
  private again = false;
  /** The loop waits for a free slot (rows are due, every slot is busy): a finished send wakes it. */
  private awaitingSlot = false;
  /**
   * Escalation sends in flight (the loop's and runOnce's): the ids of their rows by throttle
   * key, which the claim counts. By id: a row of ours claimed again (its lease ran out
   * mid-send) must not throttle itself.
   */
  private readonly sendingMethods = new Map<string, string[]>();
  private readonly sendingDestinations = new Map<string, string[]>();

  /**
   * Passes failing (Postgres down, most often): one line when it starts, a count every
   * 10 s while it lasts, one line when it is over; not one per retry.
   */
  private readonly failing: EpisodeLog;
  private consecutiveErrors = 0;

  constructor(private readonly deps: NotifierDeps) {
    this.failing = new EpisodeLog(
      deps.logger,
      {
        level: 'warn',
        started: 'notifier pass failed; retrying with backoff until one succeeds',
        continuing: 'notifier passes still failing',
        ended: 'notifier pass failures over (a pass succeeded, or the notifier stopped)',
      },
      10_000,
      () => this.consecutiveErrors > 0,
    );
    this.rate = new ProviderRate(deps.options.providerPerSecond);
    this.random = deps.random ?? Math.random;
  }

  /** Starts listening and the loop. */
  start(): void {
    if (this.running) throw new Error('notifier already started');
    const { listenClient, logger } = this.deps;
    if (listenClient) {
      this.listener = new ChannelListener({
        connect: listenClient,
        channel: NOTIFICATIONS_CHANNEL,
        onNotification: () => this.poke(),
        // Back on the channel: what was announced meanwhile may be due; look now.
        onLive: (live) => {
          if (live) this.poke();
        },
        logger,
      });
    }
    this.running = this.loop();
  }

  /** Stops claiming, lets the sends in flight finish and be recorded, closes the listener. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    await this.running;
    await this.listener?.close();
    this.failing.close();
  }

  private poke(): void {
    this.again = true;
    this.wake.abort();
  }

  private async loop(): Promise<void> {
    const { options, clock } = this.deps;
    const inFlight = new Set<Promise<void>>();
    const summary = emptySummary(); // the loop's own tally; metrics are what it reports
    // Rows may be due now: claim whenever a slot is free. False once a claim came back
    // short; then the timer, a NOTIFY, or a retry or fallback we wrote sets it again.
    let due = true;
    while (!this.stopping) {
      // Created before anything that may poke: a poke during a claim cuts the next wait short.
      this.wake = new AbortController();
      if (this.again) {
        this.again = false;
        due = true;
      }
      let sleepMs = Number.POSITIVE_INFINITY; // waiting for a slot only
      const free = options.concurrency - inFlight.size;
      if (due && free > 0) {
        try {
          const limit = Math.min(free, options.batchSize);
          const { claimed, rows } = await this.claim(summary, limit);
          this.consecutiveErrors = 0;
          for (const row of rows) {
            const sending = this.deliverTracked(row, summary).finally(() => {
              inFlight.delete(sending);
              if (this.awaitingSlot) this.wake.abort();
            });
            inFlight.add(sending);
          }
          if (claimed >= limit) continue; // a full claim: more may be due, claim again while slots are free
          due = false;
          const [next] = await run<{ at: Date | null }>(this.deps.pool, sql('notifications-next-due'), []);
          sleepMs = next?.at ? Math.max(0, Math.min(options.maxSleepMs, next.at.getTime() - clock.now().getTime())) : options.maxSleepMs;
          if (sleepMs === 0) {
            due = true;
            continue;
          }
        } catch (error) {
          this.consecutiveErrors += 1;
          sleepMs = Math.min(5_000, 200 * 2 ** Math.min(this.consecutiveErrors, 5) * (0.5 + Math.random()));
          this.failing.record({ error, retry_in_ms: Math.round(sleepMs) });
        }
      }
      if (this.stopping || this.again) continue;
      // Here either every slot is busy with rows still due (sleepMs infinite: a finished
      // send wakes us), or the claim came back short or failed (sleepMs: until the next due
      // row, or the backoff). A NOTIFY, a retry or fallback we wrote, or stop cut it short.
      this.awaitingSlot = !Number.isFinite(sleepMs);
      await sleep(this.awaitingSlot ? 2 ** 31 - 1 : sleepMs, undefined, { signal: this.wake.signal }).catch(() => undefined);
      this.awaitingSlot = false;
      due = true; // a slot, the timer or a poke: look again
    }
    // Stop: nothing new is claimed; what was claimed is sent and recorded.
    await Promise.all(inFlight);
  }

  /** One pass: claims up to `batchSize` due rows and delivers them; every send finished and recorded when it resolves. */
  async runOnce(): Promise<PassSummary> {
    const summary = emptySummary();
    const { rows } = await this.claim(summary, this.deps.options.batchSize);
    const toSend = [...rows];
    const workers = Array.from({ length: Math.max(1, Math.min(this.deps.options.concurrency, toSend.length)) }, async () => {
      for (let row = toSend.shift(); row; row = toSend.shift()) await this.deliverTracked(row, summary);
    });
    await Promise.all(workers);
    return summary;
  }

  /** Runs passes until nothing is due (tests). */
  async drain(): Promise<PassSummary> {
    const total = emptySummary();
    for (;;) {
      const pass = await this.runOnce();
      for (const key of Object.keys(total) as (keyof PassSummary)[]) total[key] += pass[key];
      if (pass.claimed === 0) return total;
    }
  }

  // 1. Claim -----------------------------------------------------------------------------

  /** Claims up to `limit` due rows, settles the skipped and throttled ones; returns how many were claimed and those to send. */
  private async claim(summary: PassSummary, limit: number): Promise<{ claimed: number; rows: ClaimedRow[] }> {
    const { pool, clock, options, metrics } = this.deps;
    const now = clock.now();
    return inTransaction(pool, async (client) => {
      const claimed = await run<ClaimedRow>(client, sql('notifications-claim'), [
        now,
        limit,
        new Date(now.getTime() + options.leaseMs),
        new Date(now.getTime() - options.throttleWindowMs),
        new Date(now.getTime() - DIGEST_WINDOW_MS),
      ]);
      summary.claimed += claimed.length;
      const pending = claimed.filter((row) => row.status === 'PENDING');
      for (const row of claimed) {
        if (row.status === 'SKIPPED') {
          summary.skipped += 1;
          metrics?.recordOutcome(row.channel, 'skipped');
        }
      }
      const decisions = decideThrottles(
        pending.map((row) => ({
          id: row.id,
          type: row.type,
          channel: row.channel,
          destination: row.destination,
          incidentId: row.incident_id,
          contactMethodId: row.contact_method_id,
          throttled: row.throttled || othersSending(this.sendingMethods, methodKey(row), row.id) > 0,
          destinationRecent: row.destination_recent + (row.channel === 'in_app' ? 0 : othersSending(this.sendingDestinations, destinationKey(row), row.id)),
        })),
        options.destinationPerMinute,
      );
      const settled: { id: string; claim: number; status: 'SKIPPED' | 'FOLDED'; reason: string; digestId: string | null }[] = [];
      const digests = new Map<string, string>();
      for (const row of pending) {
        const decision = decisions.get(row.id);
        if (decision?.kind === 'skip') settled.push({ id: row.id, claim: row.claim, status: 'SKIPPED', reason: decision.reason, digestId: null });
        if (decision?.kind === 'fold') {
          const { key, dueAt } = digestFor(row.channel, row.destination, now);
          let digestId = digests.get(key);
          if (!digestId) {
            const [digest] = await run<{ id: string }>(client, sql('notifications-digest-open'), [
              key,
              row.user_id,
              row.contact_method_id,
              row.channel,
              row.destination,
              dueAt,
              now,
            ]);
            digestId = digest?.id ?? '';
            digests.set(key, digestId);
          }
          settled.push({ id: row.id, claim: row.claim, status: 'FOLDED', reason: 'folded into a digest: too many for this destination this minute', digestId });
        }
      }
      if (settled.length > 0) {
        await run(client, sql('notifications-settle-claimed'), [
          settled.map((s) => s.id),
          settled.map((s) => s.claim),
          settled.map((s) => s.status),
          settled.map((s) => s.reason),
          settled.map((s) => s.digestId),
          now,
        ]);
        for (const s of settled) {
          const channel = pending.find((row) => row.id === s.id)?.channel ?? 'unknown';
          if (s.status === 'SKIPPED') summary.skipped += 1;
          else summary.folded += 1;
          metrics?.recordOutcome(channel, s.status === 'SKIPPED' ? 'skipped' : 'folded');
        }
      }
      const done = new Set(settled.map((s) => s.id));
      return { claimed: claimed.length, rows: pending.filter((row) => !done.has(row.id)) };
    });
  }

  // 2. Send ------------------------------------------------------------------------------

  /** deliver(), counted as in flight for the throttles of later claims while it runs. */
  private async deliverTracked(row: ClaimedRow, summary: PassSummary): Promise<void> {
    if (row.type !== 'escalation') return this.deliver(row, summary);
    const keys: [Map<string, string[]>, string][] = [[this.sendingMethods, methodKey(row)]];
    if (row.channel !== 'in_app') keys.push([this.sendingDestinations, destinationKey(row)]);
    for (const [map, key] of keys) map.set(key, [...(map.get(key) ?? []), row.id]);
    try {
      await this.deliver(row, summary);
    } finally {
      for (const [map, key] of keys) {
        const ids = map.get(key) ?? [];
        ids.splice(ids.indexOf(row.id), 1);
        if (ids.length === 0) map.delete(key);
      }
    }
  }

  private async deliver(row: ClaimedRow, summary: PassSummary): Promise<void> {
    const { clock, logger } = this.deps;
    try {
      const ready = await this.prepare(row);
      if (ready === 'lost') {
        summary.lost += 1;
        return;
      }
      const startedAt = clock.now();
      const started = performance.now();
      const outcome = await this.send(row, ready);
      const latencyMs = performance.now() - started;
      await this.deps.hooks?.beforeRecord?.(row);
      await this.record(row, outcome, startedAt, latencyMs, summary);
    } catch (error) {
      // Not the provider (channels never throw for it): a bug or the database. The row's
      // lease runs out and another pass tries it again.
      logger.error('delivering a notification failed', { error, notification_id: row.id, channel: row.channel });
    }
  }

  /** Gives an SMS or voice page its reply code (unique for its number), and renders the message. */
  private async prepare(row: ClaimedRow): Promise<unknown> {
    if (row.type === 'escalation' && (row.channel === 'sms' || row.channel === 'voice') && row.reply_code === null) {
      const code = await this.assignReplyCode(row);
      if (code === null) return 'lost';
      row.reply_code = code;
    }
    let digest: DigestItems | null = null;
    if (row.type === 'digest') {
      const [items] = await run<DigestItems>(this.deps.pool, sql('notifications-digest-items'), [row.id, DIGEST_NAMED]);
      digest = items ?? null;
    }
    return messageOf(row.channel, contextOf(this.deps.links, row, this.deps.clock.now(), digest));
  }

  private async assignReplyCode(row: ClaimedRow): Promise<string | null> {
    for (const length of REPLY_CODE_LENGTHS) {
      const code = String(Math.floor(Math.random() * 10 ** length)).padStart(length, '0');
      try {
        const [updated] = await run<{ reply_code: string }>(this.deps.pool, sql('notifications-set-reply-code'), [row.id, row.claim, code]);
        return updated ? updated.reply_code : null;
      } catch (error) {
        if ((error as { code?: string }).code !== '23505') throw error; // this number was given that code before: draw again
      }
    }
    throw new Error('no free reply code after 10 draws');
  }

  private async send(row: ClaimedRow, message: unknown): Promise<DeliveryOutcome> {
    const channel: Channel | undefined = this.deps.channels[row.channel];
    if (!channel) return { status: 'permanent', error: `${row.channel}: not configured` };
    // The attempt must end within the lease: past it, another notifier may take the row.
    const signal = AbortSignal.timeout(Math.max(1_000, this.deps.options.leaseMs - 1_000));
    await this.rate.take(row.channel, signal);
    return channel.send({ notificationId: row.id, idempotencyKey: row.idempotency_key, destination: row.destination, message: message as never }, signal);
  }

  // 3. Record ----------------------------------------------------------------------------

  private async record(row: ClaimedRow, outcome: DeliveryOutcome, startedAt: Date, latencyMs: number, summary: PassSummary): Promise<void> {
    const { pool, clock, metrics, logger } = this.deps;
    const finishedAt = clock.now();
    let status: 'SENT' | 'PENDING' | 'FAILED';
    let nextAttemptAt: Date | null = null;
    let reason: string | null = null;
    if (outcome.status === 'sent') status = 'SENT';
    else if (outcome.status === 'transient') {
      const delay = retryDelayMs(row.attempts, this.random(), outcome.retryAfterMs);
      if (delay === null) {
        status = 'FAILED';
        reason = `${outcome.error} (after ${row.attempts} attempts)`;
      } else {
        status = 'PENDING';
        nextAttemptAt = new Date(finishedAt.getTime() + delay);
        reason = outcome.error;
      }
    } else {
      status = 'FAILED';
      reason = outcome.error;
    }
    const values = [
      row.id,
      row.claim,
      status,
      nextAttemptAt,
      outcome.status === 'sent' ? outcome.providerMessageId : null,
      reason?.slice(0, 2000) ?? null,
      startedAt,
      finishedAt,
      latencyMs,
      outcome.status === 'sent' ? 'sent' : outcome.status === 'transient' && /time(d)? ?out|aborted/i.test(outcome.error) ? 'timeout' : outcome.status,
      outcome.status === 'sent' ? null : outcome.error.slice(0, 2000),
    ];
    const fallsBack = status === 'FAILED' && row.type === 'escalation';
    let fellBack = false;
    const recorded = fallsBack
      ? await inTransaction(pool, async (client) => {
          const [done] = await run<{ id: string }>(client, sql('notifications-record-outcome'), values);
          if (!done) return false;
          const fallback = await run<{ id: string }>(client, sql('notifications-fallback'), [row.id, finishedAt]);
          if (fallback.length > 0) fellBack = true;
          else await this.recordPageFailed(client, row, finishedAt);
          return true;
        })
      : (await run<{ id: string }>(pool, sql('notifications-record-outcome'), values)).length > 0;
    // The fallback row is due at once: look for it now that it is committed, not after a sleep.
    if (fellBack) this.poke();
    if (!recorded) {
      // Our lease ran out and another notifier claimed the row: its outcome is the one that counts.
      summary.lost += 1;
      logger.warn('a notification outcome was not recorded: the claim was taken over', { notification_id: row.id, claim: row.claim, outcome: outcome.status });
      return;
    }
    if (status === 'SENT') {
      summary.sent += 1;
      metrics?.recordOutcome(row.channel, 'sent');
      metrics?.observeLatency(row.channel, Math.max(0, finishedAt.getTime() - row.due_at.getTime()) / 1000);
    } else if (status === 'PENDING') {
      summary.retried += 1;
      metrics?.recordOutcome(row.channel, 'retried');
      // The loop may be asleep until later than this retry: it looks again (and sleeps until the earliest).
      this.poke();
    } else {
      summary.failed += 1;
      metrics?.recordOutcome(row.channel, 'failed');
      logger.warn('a notification failed', { notification_id: row.id, channel: row.channel, attempts: row.attempts, reason });
    }
  }

  /** When every notification of the page failed (no method left): the incident's `notification_failed` event. */
  private async recordPageFailed(client: pg.PoolClient, row: ClaimedRow, now: Date): Promise<void> {
    const [page] = await run<{
      incident_id: string;
      incident_state: IncidentState;
      escalation_id: string | null;
      level: number | null;
      user_id: string;
      failed: { notification_id: string; channel: string; destination: string; reason: string | null }[];
    }>(client, sql('notifications-page-failed'), [row.id]);
    if (!page) return;
    const event: NewEvent = {
      incidentId: page.incident_id,
      kind: 'notification_failed',
      from: page.incident_state,
      to: page.incident_state,
      occurredAt: now,
      details: { user_id: page.user_id, escalation_id: page.escalation_id, level: page.level, notification_id: row.id, failed: page.failed },
    };
    await appendEvents(client, [event]);
  }
}

/** The throttle keys of ./throttle.ts: one escalation per method and incident; per channel and destination. */
const methodKey = (row: ClaimedRow) => `${row.incident_id ?? ''}|${row.contact_method_id}`;
const destinationKey = (row: ClaimedRow) => `${row.channel}|${row.destination}`;
/** How many sends in flight under `key` are of rows other than `id`. */
const othersSending = (sending: Map<string, string[]>, key: string, id: string) => (sending.get(key) ?? []).filter((other) => other !== id).length;
