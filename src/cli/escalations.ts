/**
 * `klaxon escalation quarantined|release` (`escalations` is the same group): the
 * escalations a worker quarantined because their execution kept failing
 * (src/engine/quarantine.ts), and releasing them once the cause is fixed. A released
 * escalation goes back into the Redis index due now and runs at once, with a fresh
 * count of attempts. A transition (acknowledge, resolve, cancel) settles a
 * quarantined escalation without any release.
 */
import { isUuid } from '../domain/ids.ts';
import { MAX_EXECUTION_ATTEMPTS, listQuarantined, releaseQuarantined } from '../engine/quarantine.ts';
import { type Command, type Group, UsageError, flag, intOption } from './args.ts';
import { clip, json, line, table, when } from './output.ts';

const LIST_MAX = 10_000;

const quarantined: Command = {
  name: 'quarantined',
  summary: 'list the escalations kept out of batches because their execution kept failing',
  needs: 'database',
  options: {
    limit: { type: 'string', value: 'N', description: `at most N escalations (1-${LIST_MAX}; default 100)` },
    json: { type: 'boolean', description: 'print JSON' },
  },
  details:
    `A worker quarantines an escalation after ${MAX_EXECUTION_ATTEMPTS} failed attempts at executing it on its own: it stays\n` +
    'PENDING, no batch takes it, and it pages nobody until it is released (`klaxon escalation release`)\n' +
    'or its incident is acknowledged, resolved or cancelled.',
  examples: ['klaxon escalation quarantined', 'klaxon escalation quarantined --json'],
  async run(args, session) {
    const limit = intOption(args, 'limit', 'escalation quarantined', 1, LIST_MAX) ?? 100;
    const { pool } = await session.connect();
    const rows = await listQuarantined(pool, limit);
    if (flag(args, 'json')) {
      session.out(
        json({
          items: rows.map((row) => ({
            escalation_id: row.escalationId,
            incident_id: row.incidentId,
            level: row.level,
            scheduled_at: row.scheduledAt.toISOString(),
            attempts: row.attempts,
            last_error: row.lastError,
            quarantined_at: row.quarantinedAt.toISOString(),
          })),
        }),
      );
      return;
    }
    session.out(
      table(
        ['ESCALATION', 'INCIDENT', 'LEVEL', 'DUE', 'ATTEMPTS', 'QUARANTINED', 'LAST ERROR'],
        rows.map((row) => [
          row.escalationId,
          row.incidentId,
          String(row.level),
          when(row.scheduledAt),
          String(row.attempts),
          when(row.quarantinedAt),
          clip(row.lastError, 80),
        ]),
      ),
    );
  },
};

const release: Command = {
  name: 'release',
  summary: 'release a quarantined escalation (or all of them) once the cause is fixed: it runs at once',
  positionals: ['ID'],
  needs: 'database+redis',
  details:
    'ID is an escalation id, or `all` for every quarantined escalation. Released, it goes back to the\n' +
    'workers due now, with a fresh count of attempts. Without Redis the workers find it in Postgres.',
  examples: ['klaxon escalation release 2b1e0f3c-5d4a-4b9e-8c7f-6a5b4c3d2e1f', 'klaxon escalation release all'],
  async run(args, session) {
    const given = args.positionals[0] as string;
    if (given !== 'all' && !isUuid(given)) throw new UsageError('ID must be an escalation id (a UUID) or `all`', 'escalation release');
    const { pool, deps, clock } = await session.connect();
    const released = await releaseQuarantined(pool, deps.pendingIndex, given === 'all' ? 'all' : [given.toLowerCase()], clock.now());
    for (const id of released) session.out(`${id}\n`);
    session.err(line`released ${released.length} escalation${released.length === 1 ? '' : 's'}\n`);
  },
};

export const escalationGroup: Group = {
  name: 'escalation',
  aliases: ['escalations'],
  summary: 'escalations quarantined after failed executions: list and release them',
  commands: [quarantined, release],
};
