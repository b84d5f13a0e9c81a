/**
 * Listening to a Postgres notification channel (LISTEN/NOTIFY) on a connection of its
 * own, kept open: reconnected with backoff when it drops, and saying at each moment
 * whether it hears the channel. A notification is delivered only to sessions that
 * listen when it commits, so whoever relies on hearing one must know when it may
 * have missed some: `onLive(false)` when the connection is lost, `onLive(true)` once
 * LISTEN has taken effect again (what was sent in between is lost).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { type Backoff, backoffMs, withDeadline } from '../clock/deadline.ts';
import { EpisodeLog } from '../log/episode.ts';
import type { Logger } from '../log/logger.ts';

export interface ListenerOptions {
  /** A new, unconnected client (createClient in ./pool.ts), for each connection attempt. */
  connect: () => pg.Client;
  /** A plain identifier: it is written into the LISTEN command. */
  channel: string;
  onNotification: (payload: string) => void;
  /** Whether the channel is heard from now on; called on every change. */
  onLive: (live: boolean) => void;
  logger: Logger;
  backoff?: Backoff;
}

const RECONNECT: Backoff = { baseMs: 100, capMs: 5_000 };

export class ChannelListener {
  private client: pg.Client | undefined;
  private closed = false;
  private live = false;
  private readonly running: Promise<void>;
  private readonly failures: EpisodeLog;
  /** Cuts the wait between attempts short when the listener is closed. */
  private readonly stopping = new AbortController();

  constructor(private readonly options: ListenerOptions) {
    if (!/^[a-z_][a-z0-9_]*$/.test(options.channel)) throw new Error(`not a plain channel name: "${options.channel}"`);
    this.failures = new EpisodeLog(
      options.logger,
      {
        level: 'warn',
        started: `not listening to Postgres notifications on ${options.channel}; reconnecting`,
        ended: `listening to Postgres notifications on ${options.channel} again`,
      },
      1_000,
      () => !this.live && !this.closed,
    );
    this.running = this.run();
  }

  /** Whether the channel is heard right now. */
  get isLive(): boolean {
    return this.live;
  }

  /** Stops listening and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    if (this.client) await endQuietly(this.client);
    await this.running;
  }

  private setLive(live: boolean): void {
    if (this.live === live) return;
    this.live = live;
    this.options.onLive(live);
  }

  private async run(): Promise<void> {
    for (let failures = 0; !this.closed;) {
      const client = this.options.connect();
      this.client = client;
      // Set before connecting: an error on a client without a listener would crash the process.
      const ended = new Promise<unknown>((resolve) => {
        client.on('error', resolve);
        client.on('end', () => resolve(new Error('the connection ended')));
      });
      try {
        await client.connect();
        client.on('notification', (message) => {
          if (message.channel === this.options.channel && message.payload !== undefined) this.options.onNotification(message.payload);
        });
        await client.query(`LISTEN ${this.options.channel}`);
        if (this.closed) break;
        failures = 0;
        this.setLive(true);
        const error = await ended;
        if (!this.closed) this.failures.record({ error });
      } catch (error) {
        if (!this.closed) this.failures.record({ error });
      } finally {
        this.setLive(false);
        await endQuietly(client);
      }
      if (this.closed) break;
      failures += 1;
      await sleep(backoffMs(failures, this.options.backoff ?? RECONNECT), undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }
}

/** Closes a client whatever state it is in, without waiting long for a connection that is gone. */
async function endQuietly(client: pg.Client): Promise<void> {
  await withDeadline(client.end(), 1_000).catch(() => undefined);
}
