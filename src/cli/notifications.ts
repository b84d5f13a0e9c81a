/**
 * `klaxon notification list|retry` (`notifications` is the same group): a person's
 * notifications as the outbox holds them (where each stands, after how many attempts,
 * and why it failed or was skipped), and trying a FAILED one again.
 */
import { listDeliveries, retryNotification } from '../commands/notification-delivery.ts';
import { isUuid } from '../domain/ids.ts';
import { type Command, type Group, UsageError, flag, intOption, stringOption } from './args.ts';
import { clip, json, line, table, when } from './output.ts';

const LIST_MAX = 10_000;

const list: Command = {
  name: 'list',
  summary: "list a person's notifications, newest first",
  needs: 'database',
  options: {
    user: { type: 'string', value: 'ID', description: 'the person (a user id; required)' },
    limit: { type: 'string', value: 'N', description: `at most N notifications (1-${LIST_MAX}; default 50)` },
    json: { type: 'boolean', description: 'print JSON' },
  },
  details:
    'Every type (escalation, acknowledged, resolved, verification, digest) and channel. STATUS is PENDING\n' +
    '(due, or waiting for its next attempt), SENT, FAILED (retries spent, or refused for good), SKIPPED\n' +
    '(the incident moved on, or throttled) or FOLDED (into a digest); WHY says why it failed or was skipped.',
  examples: [
    'klaxon notification list --user 2b1e0f3c-5d4a-4b9e-8c7f-6a5b4c3d2e1f',
    'klaxon notification list --user 2b1e0f3c-5d4a-4b9e-8c7f-6a5b4c3d2e1f --json',
  ],
  async run(args, session) {
    const user = stringOption(args, 'user');
    if (!user || !isUuid(user)) throw new UsageError('--user must be a user id (a UUID)', 'notification list');
    const limit = intOption(args, 'limit', 'notification list', 1, LIST_MAX) ?? 50;
    const { pool } = await session.connect();
    const rows = await listDeliveries(pool, user.toLowerCase(), limit);
    if (flag(args, 'json')) {
      const iso = (at: Date | null) => (at === null ? null : at.toISOString());
      session.out(
        json({
          items: rows.map((row) => ({
            id: row.id,
            type: row.type,
            channel: row.channel,
            destination: row.destination,
            status: row.status,
            reason: row.reason,
            incident_id: row.incident_id,
            level: row.level,
            attempts: row.attempts,
            due_at: iso(row.due_at),
            next_attempt_at: row.status === 'PENDING' ? iso(row.next_attempt_at) : null,
            sent_at: iso(row.sent_at),
            finished_at: iso(row.finished_at),
            created_at: iso(row.created_at),
            provider_message_id: row.provider_message_id,
          })),
        }),
      );
      return;
    }
    session.out(
      table(
        ['NOTIFICATION', 'TYPE', 'CHANNEL', 'TO', 'STATUS', 'ATTEMPTS', 'CREATED', 'INCIDENT', 'WHY'],
        rows.map((row) => [
          row.id,
          row.type,
          row.channel,
          clip(row.destination || '-', 40),
          row.status,
          String(row.attempts),
          when(row.created_at),
          row.incident_id ?? '-',
          clip(row.reason ?? '', 60),
        ]),
      ),
    );
  },
};

const retry: Command = {
  name: 'retry',
  summary: 'try a FAILED notification again (as a new notification, due now)',
  positionals: ['ID'],
  needs: 'database',
  details:
    'The failed notification stays FAILED with its attempts; a new one, to the same destination, is written due\n' +
    'now and the notifiers send it at once. An escalation notification whose incident no longer escalates is\n' +
    'skipped, as any other would be. Prints the new notification id.',
  examples: ['klaxon notification retry 7c9e6679-7425-40de-944b-e07fc1f90ae7'],
  async run(args, session) {
    const given = args.positionals[0] as string;
    if (!isUuid(given)) throw new UsageError('ID must be a notification id (a UUID)', 'notification retry');
    const { pool, clock } = await session.connect();
    const id = await retryNotification(pool, given.toLowerCase(), clock.now());
    session.out(`${id}\n`);
    session.err(line`retrying notification ${given.toLowerCase()} as ${id}\n`);
  },
};

export const notificationGroup: Group = {
  name: 'notification',
  aliases: ['notifications'],
  summary: "a person's notifications: list them, retry a failed one",
  commands: [list, retry],
};
