/**
 * `klaxon stats`: the figures of GET /stats, read the same way: the PENDING and overdue
 * escalations from Postgres, and what the Redis index holds when Redis answers.
 */
import { readEscalationStats } from '../db/escalation-stats.ts';
import { presentStats } from '../presenters/stats.ts';
import { type IndexStats, readIndexStats } from '../engine/index/stats.ts';
import { type Command, flag } from './args.ts';
import { age, fields, json } from './output.ts';
import type { Session } from './session.ts';

export const statsCommand: Command = {
  name: 'stats',
  summary: 'pending and overdue escalations, and the Redis index counts',
  needs: 'database+redis',
  options: { json: { type: 'boolean', description: 'print the same JSON as GET /stats' } },
  details: 'Overdue: due and not executed yet (steadily above 0: the workers are down or behind).\n' +
    'Quarantined: PENDING, kept out of batches after their execution failed too often; see\n' +
    '`klaxon escalation quarantined` and `klaxon escalation release`.\n' +
    '"index" is null when REDIS_URL is not set or Redis does not answer.',
  examples: ['klaxon stats', 'klaxon stats --json'],
  async run(args, session: Session) {
    const connected = await session.connect();
    const now = connected.clock.now();
    const escalations = await readEscalationStats(connected.pool, now);
    let index: IndexStats | null = null;
    let indexProblem = connected.redisProblem;
    if (connected.redis) {
      try {
        index = await readIndexStats(connected.redis, connected.keys);
      } catch (error) {
        indexProblem = `Redis failed: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    if (flag(args, 'json')) {
      session.out(json(presentStats(now, escalations, index)));
      return;
    }
    session.out(
      fields([
        ['at', now.toISOString()],
        ['pending', String(escalations.pending)],
        ['overdue', String(escalations.overdue)],
        ['oldest overdue', escalations.oldestOverdueAgeMs === null ? '-' : `${age(escalations.oldestOverdueAgeMs)} ago`],
        ['quarantined', escalations.quarantined === 0 ? '0' : `${escalations.quarantined} (klaxon escalation quarantined)`],
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
