/**
 * Watches, while a bench runs, for COMMITs held up by the WAL's flush to disk.
 *
 * Why: every COMMIT of the cluster waits for its WAL to reach the disk (one fsync
 * serves several: group commit). When one fsync takes long, every worker's batch
 * waits behind it, and no new batch can start while all of a worker's connections are
 * in COMMIT. On the bench's machine, the p99 outliers at `--rate 5000` were such
 * fsyncs of 0.3 to 1.5 s (pg_stat_activity sampled every 20 ms by hand): the disk's,
 * not the engine's, but what the user gets all the same. pg_stat_wal counts fsyncs and
 * their total time only; this names the longest waits, so a late batch can be told
 * from a slow disk.
 *
 * How: every SAMPLE_MS, one query of pg_stat_activity on a connection of its own, for
 * the bench database's backends waiting on WALSync (the flush) or WALWrite (for the
 * one flushing). That is a COMMIT (the workers') or a statement that is its own
 * transaction (the API's group commit) committing, whatever its text. A wait is known
 * to within SAMPLE_MS, and one shorter than that may go unseen. Its cost: about 0.1 ms
 * of Postgres CPU a sample.
 */
import pg from 'pg';

const SAMPLE_MS = 20;
/** A wait at least this long is counted (a healthy fsync takes 0.5-1.5 ms here). */
export const HELD_UP_MS = 100;

export interface WalWait {
  /** When its COMMIT (or its statement that is its own transaction) started, in Postgres' time (ms since the epoch). */
  startedAtMs: number;
  /** How long it had run when last seen waiting: at least its wait, plus what ran before it in that statement. */
  waitedMs: number;
}

export interface WalWaits {
  samples: number;
  /** COMMITs seen waiting at least HELD_UP_MS, longest first. */
  heldUp: WalWait[];
  /** Why the watch ended before the run did (a sample failed): what it saw is then only part of the run. */
  endedEarly?: string;
}

const WAITING_COMMITS = `
  SELECT pid, (extract(epoch FROM query_start) * 1000)::float8 AS started_at_ms,
         (extract(epoch FROM clock_timestamp() - query_start) * 1000)::float8 AS waited_ms
    FROM pg_stat_activity
   WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
     AND wait_event_type IN ('IO', 'LWLock') AND wait_event IN ('WALSync', 'WALWrite')`;

/** Starts watching; `stop()` ends it and resolves to what it saw. Never rejects: a failed sample ends the watch, and says so. */
export async function watchWalWaits(databaseUrl: string): Promise<{ stop: () => Promise<WalWaits> }> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'klaxon-bench-wal-waits' });
  await client.connect();
  // One entry per COMMIT: a backend and the moment its COMMIT started.
  const waits = new Map<string, WalWait>();
  let samples = 0;
  let stopping = false;
  let endedEarly: string | undefined;
  // A connection lost between samples (a terminated backend, a restarted server) is an
  // 'error' event: without a listener it would end the bench's process.
  client.on('error', (error) => {
    endedEarly ??= error.message;
  });
  const watching = (async () => {
    while (!stopping) {
      const sampledAt = performance.now();
      try {
        const { rows } = await client.query<{ pid: number; started_at_ms: number; waited_ms: number }>(WAITING_COMMITS);
        samples += 1;
        for (const row of rows) {
          const key = `${row.pid}@${row.started_at_ms}`;
          const seen = waits.get(key);
          if (!seen || seen.waitedMs < row.waited_ms) waits.set(key, { startedAtMs: row.started_at_ms, waitedMs: row.waited_ms });
        }
      } catch (error) {
        endedEarly ??= error instanceof Error ? error.message : String(error);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, SAMPLE_MS - (performance.now() - sampledAt))));
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await watching;
      await client.end().catch(() => undefined);
      const heldUp = [...waits.values()].filter((wait) => wait.waitedMs >= HELD_UP_MS).sort((a, b) => b.waitedMs - a.waitedMs);
      return endedEarly === undefined ? { samples, heldUp } : { samples, heldUp, endedEarly };
    },
  };
}

/** The JSON lines' `commit_wal_wait_max_ms`: the longest wait seen, 0 when none reached HELD_UP_MS. */
export function longestWalWaitMs(waits: WalWaits): number {
  return Math.round(waits.heldUp[0]?.waitedMs ?? 0);
}

/** One line for the summary: how many COMMITs the WAL held up, and the longest, relative to T0. */
export function describeWalWaits(waits: WalWaits, t0Ms: number): string {
  const where = (wait: WalWait) => {
    const s = (wait.startedAtMs - t0Ms) / 1000;
    return `${Math.round(wait.waitedMs)} ms from T0${s < 0 ? '' : '+'}${s.toFixed(3)} s`;
  };
  const longest = waits.heldUp.slice(0, 3).map(where).join(', ');
  return (
    `COMMITs held up ≥ ${HELD_UP_MS} ms by the WAL's flush (sampled every ${SAMPLE_MS} ms, ${waits.samples} samples): ${waits.heldUp.length}` +
    (longest ? `; longest ${longest}` : '') +
    // JSON.stringify: an error's text reaches the terminal quoted, its control characters escaped.
    (waits.endedEarly === undefined ? '' : `; WARNING: the watch stopped early: ${JSON.stringify(waits.endedEarly)}`)
  );
}
