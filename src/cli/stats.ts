/**
 * `klaxon stats`: the figures of GET /stats, read the same way: the PENDING and overdue
 * escalations from Postgres, and what the Redis index holds when Redis answers.
 */
import { readStats } from '../commands/stats.ts';
import { presentStats } from '../presenters/stats.ts';
import { type Command, flag } from './args.ts';
import { age, fields, json } from './output.ts';
import type { Session } from './session.ts';

export const statsCommand: Command = {
  name: 'stats',
  summary: 'pending and overdue escalations, and the Redis index counts',
  needs: 'database+redis',
  options: { json: { type: 'boolean', description: 'print the same JSON as GET /stats' } },
  details:
    'Overdue: due and not executed yet (steadily above 0: the workers are down or behind).\n' +
    'Quarantined: PENDING, kept out of batches after their execution failed too often; see\n' +
    '`klaxon escalation quarantined` and `klaxon escalation release`.\n' +
    '"index" is null when REDIS_URL is not set or Redis does not answer.',
  examples: ['klaxon stats', 'klaxon stats --json'],
  async run(args, session: Session) {
    const connected = await session.connect();
    const stats = await readStats(connected);
    const { at: now, escalations, notifications, index, indexProblem } = stats;
    if (flag(args, 'json')) {
      session.out(json(presentStats(stats)));
      return;
    }
    session.out(
      fields([
        ['at', now.toISOString()],
        ['pending', String(escalations.pending)],
        ['overdue', String(escalations.overdue)],
        ['oldest overdue', escalations.oldestOverdueAgeMs === null ? '-' : `${age(escalations.oldestOverdueAgeMs)} ago`],
        ['quarantined', escalations.quarantined === 0 ? '0' : `${escalations.quarantined} (klaxon escalation quarantined)`],
        ['notifications pending', String(notifications.pending)],
        ['notifications due', String(notifications.due)],
        ['oldest due notification', notifications.oldestPendingAgeMs === null ? '-' : `${age(notifications.oldestPendingAgeMs)} ago`],
        ...Object.entries(notifications.byChannel)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([channel, tally]) => [`${channel}`, `sent ${tally.sent}, failed ${tally.failed}, skipped ${tally.skipped}`] as const),
        ...(index
          ? ([
              ['index pending', String(index.pending)],
              ['index in flight', String(index.in_flight)],
              ['index complete', index.complete ? 'yes' : 'no (a worker rebuilds it from Postgres)'],
            ] as const)
          : ([['index', `unknown (${indexProblem ?? 'Redis unavailable'})`]] as const)),
      ]),
    );
  },
};
