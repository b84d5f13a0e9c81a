/**
 * The outbox writes (issue 11): who is told, on which contact method, and when, decided
 * inside the very transaction that executes a level or applies a transition. So a page
 * is never lost between the commit and the send (the row commits with the level), and
 * never written twice (each row has a unique idempotency key: a retried batch writes
 * nothing new). Delivering the rows is src/notify/'s business (the notifier), which
 * re-checks the incident before sending.
 *
 * Cost: one statement per batch of executions, whatever its size, and none when the
 * batch paged nobody. Measured (test/notify/outbox.test.ts counts the statements): a
 * batch of 500 executions whose people have no usable contact method is one statement,
 * 6-7 ms at the median on the shared 2-core test host (500 pages of 50 people, 20 runs).
 */
import type pg from 'pg';
import { run, sql } from '../db/queries.ts';
import type { ChannelKind } from '../domain/notifications.ts';

/** The Postgres channel the notifiers LISTEN on; a NOTIFY on it (payload '') wakes them. */
export const NOTIFICATIONS_CHANNEL = 'klaxon_notifications';

/** What planning needs of an executed level (src/engine/executor.ts ExecutedEscalation is one). */
export interface ExecutedLevel {
  id: string;
  incidentId: string;
  level: number;
  repeatCycle: number;
  paged: readonly { user_id: string; name: string }[];
}

/** What an escalation notification's payload holds besides its row (src/notify renders it). */
export interface EscalationPayload {
  repeat_cycle: number;
  /** Everyone this level paged, by name (the message says who else was told). */
  paged: string[];
}

/**
 * Writes the escalation notifications of the levels just executed, in the executing
 * transaction: one row per paged person x usable contact method x rule (a level's
 * `channels` override the person's rules for that level). `channelsOf` gives the
 * channels the executed level names (null: none). Returns how many rows it wrote.
 */
export async function planLevelNotifications(
  client: pg.PoolClient,
  executed: readonly ExecutedLevel[],
  channelsOf: (execution: ExecutedLevel) => readonly ChannelKind[] | null,
  now: Date,
): Promise<number> {
  const escalationIds: string[] = [];
  const incidentIds: string[] = [];
  const levels: number[] = [];
  const userIds: string[] = [];
  const channels: (string | null)[] = [];
  const payloads: string[] = [];
  for (const execution of executed) {
    if (execution.paged.length === 0) continue;
    const named = channelsOf(execution);
    const payload: EscalationPayload = { repeat_cycle: execution.repeatCycle, paged: execution.paged.map((person) => person.name) };
    const serialised = JSON.stringify(payload);
    // A person named twice by one level (a user and their team) is paged once.
    for (const userId of new Set(execution.paged.map((person) => person.user_id))) {
      escalationIds.push(execution.id);
      incidentIds.push(execution.incidentId);
      levels.push(execution.level);
      userIds.push(userId);
      channels.push(named && named.length > 0 ? named.join(',') : null);
      payloads.push(serialised);
    }
  }
  if (userIds.length === 0) return 0;
  const [row] = await run<{ inserted: number }>(client, sql('notifications-plan-escalation'), [
    escalationIds,
    incidentIds,
    levels,
    userIds,
    channels,
    payloads,
    now,
  ]);
  return row?.inserted ?? 0;
}

/**
 * Writes the `acknowledged` or `resolved` notices of a transition, in its transaction:
 * to each person paged for the incident so far, on each method a page reached, unless
 * they turned that notice off. `version`: the incident's version after the transition.
 */
export async function planTransitionNotices(
  client: pg.PoolClient,
  incident: { id: string; version: number },
  type: 'acknowledged' | 'resolved',
  now: Date,
  actor: string | null = null,
): Promise<number> {
  const [row] = await run<{ inserted: number }>(client, sql('notifications-plan-notices'), [
    incident.id,
    type,
    now,
    incident.version,
    JSON.stringify({ actor }),
  ]);
  return row?.inserted ?? 0;
}
