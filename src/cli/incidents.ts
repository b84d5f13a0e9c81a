/**
 * `klaxon incident list|show|ack|resolve` (`incidents` is the same group): read and act
 * on incidents through the same commands as the API, organisation-wide, as the actor
 * `cli:<os user>`. Acknowledge and resolve update the Redis index after commit as
 * the API does; without Redis the worker's reconciler heals it.
 */
import { listEscalations, listEvents, getIncident, listIncidents } from '../commands/read-incidents.ts';
import { type TransitionTarget, transitionIncident } from '../commands/transition-incident.ts';
import { isUuid } from '../domain/ids.ts';
import type { IncidentEvent } from '../domain/events.ts';
import type { Escalation, Incident } from '../domain/incident.ts';
import { INCIDENT_STATES, IncidentState } from '../domain/incident-states.ts';
import { EVERY_TEAM } from '../domain/team-scope.ts';
import { presentEscalation, presentEvent, presentIncident } from '../presenters/incidents.ts';
import { type Command, type Group, type ParsedArgs, UsageError, flag, intOption, stringOption } from './args.ts';
import { age, clip, fields, json, line, table, when } from './output.ts';

const NOTE_MAX = 2000;
const LIST_MAX = 10_000;

function incidentId(args: ParsedArgs, path: string): string {
  const id = args.positionals[0] as string;
  if (!isUuid(id)) throw new UsageError('ID must be an incident id (a UUID)', path);
  return id.toLowerCase();
}

const list: Command = {
  name: 'list',
  summary: 'list incidents, newest first',
  needs: 'database',
  options: {
    state: { type: 'string', value: 'STATE', description: `only incidents in this state: ${INCIDENT_STATES.join(', ')}` },
    limit: { type: 'string', value: 'N', description: `at most N incidents (1-${LIST_MAX}; default 50)` },
    json: { type: 'boolean', description: "print JSON (the API's incident objects)" },
  },
  examples: ['klaxon incidents list --state ESCALATING', 'klaxon incidents list --limit 200 --json'],
  async run(args, session) {
    const path = 'incident list';
    const stateText = stringOption(args, 'state');
    const state = stateText === undefined ? undefined : INCIDENT_STATES.find((s) => s === stateText.toUpperCase());
    if (stateText !== undefined && state === undefined) {
      throw new UsageError(`--state must be one of ${INCIDENT_STATES.join(', ')}`, path);
    }
    const limit = intOption(args, 'limit', path, 1, LIST_MAX) ?? 50;
    const { pool } = await session.connect();
    const page = await listIncidents(pool, EVERY_TEAM, { state, limit });
    const more = page.next !== null;
    if (flag(args, 'json')) {
      session.out(json({ items: page.items.map(presentIncident), more }));
    } else {
      session.out(
        table(
          ['ID', 'STATE', 'SEVERITY', 'LEVEL', 'CREATED', 'TITLE'],
          page.items.map((i) => [i.id, i.state, i.severity, String(i.currentEscalationLevel), when(i.createdAt), clip(i.title, 70)]),
        ),
      );
    }
    if (more) session.err(`more incidents than these ${page.items.length}: raise --limit\n`);
  },
};

/** The gist of an event's details: the level it paged and whom (raw text: the table escapes it). */
function eventGist(event: IncidentEvent): string {
  const parts: string[] = [];
  const { level, paged } = event.details as { level?: unknown; paged?: unknown };
  if (typeof level === 'number') parts.push(`level ${level}`);
  if (Array.isArray(paged) && paged.length > 0) {
    const names = paged.map((p) => (p as { name?: unknown }).name).map((name) => (typeof name === 'string' ? name : '?'));
    parts.push(`paged ${names.join(', ')}`);
  }
  if (event.note) parts.push(`"${clip(event.note, 60)}"`);
  return parts.join('; ') || '-';
}

function showIncident(incident: Incident, escalations: Escalation[], events: IncidentEvent[]): string {
  const policy = !incident.policy
    ? '- (chosen when it starts escalating)'
    : incident.policy.policyId
      ? `${incident.policy.name} (${incident.policy.policyId}, version ${incident.policy.version})`
      : 'the default policy (the configured timetable)';
  const head = fields([
    ['id', incident.id],
    ['title', clip(incident.title, 200)],
    ['state', `${incident.state} (version ${incident.version})`],
    ['severity', incident.severity],
    ['level', String(incident.currentEscalationLevel)],
    ['team', incident.teamId ?? '(all teams)'],
    ['service', incident.serviceId ?? '-'],
    ['policy', policy],
    ['assignees', incident.assignees.map((a) => a.name).join(', ') || '-'],
    ['created', when(incident.createdAt)],
    ['updated', when(incident.updatedAt)],
    ['acknowledged', when(incident.acknowledgedAt)],
    ['resolved', when(incident.resolvedAt)],
    ['cancelled', when(incident.cancelledAt)],
    ['snoozed until', when(incident.snoozedUntil)],
    ['description', clip(incident.description, 500)],
  ]);
  const escalationTable = table(
    ['CYCLE', 'LEVEL', 'STATUS', 'TRIGGER', 'SCHEDULED', 'EXECUTED', 'LATENESS', 'CANCELLED'],
    escalations.map((e) => [
      String(e.repeatCycle),
      String(e.level),
      e.status,
      e.trigger,
      when(e.scheduledAt),
      when(e.executedAt),
      e.executedAt ? age(e.executedAt.getTime() - e.scheduledAt.getTime()) : '-',
      when(e.cancelledAt),
    ]),
  );
  const eventTable = table(
    ['WHEN', 'KIND', 'FROM', 'TO', 'ACTOR', 'DETAILS'],
    events.map((e) => [when(e.occurredAt), e.kind, e.fromState ?? '-', e.toState ?? '-', e.actor ?? '-', eventGist(e)]),
  );
  return `${head}\nEscalations\n${escalations.length ? escalationTable : '(none)\n'}\nEvents\n${eventTable}`;
}

const show: Command = {
  name: 'show',
  summary: 'show an incident with its escalations and its audit events',
  positionals: ['ID'],
  needs: 'database',
  options: { json: { type: 'boolean', description: 'print JSON: the incident with `escalations` and `events`' } },
  examples: ['klaxon incident show 8c0e3f5e-4c1a-4e51-9f57-4cf5f1f3a0b9'],
  async run(args, session) {
    const id = incidentId(args, 'incident show');
    const { pool } = await session.connect();
    const incident = await getIncident(pool, EVERY_TEAM, id);
    const [escalations, events] = await Promise.all([listEscalations(pool, EVERY_TEAM, id), listEvents(pool, EVERY_TEAM, id)]);
    session.out(
      flag(args, 'json')
        ? json({ ...presentIncident(incident), escalations: escalations.map(presentEscalation), events: events.map(presentEvent) })
        : showIncident(incident, escalations, events),
    );
  },
};

function transition(name: string, aliases: string[], to: TransitionTarget, summary: string): Command {
  const path = `incident ${name}`;
  return {
    name,
    aliases,
    summary,
    positionals: ['ID'],
    needs: 'database+redis',
    options: {
      note: { type: 'string', value: 'TEXT', description: `a note for the audit log (at most ${NOTE_MAX} characters)` },
      'expected-version': {
        type: 'string',
        value: 'N',
        description: 'refuse unless the incident is still at this version (as shown by `incident show`)',
      },
      json: { type: 'boolean', description: 'print the incident as JSON' },
    },
    details:
      'Recorded as done by cli:<your OS user>. Cancels the pending escalations, in Postgres and, after commit,\n' +
      "in the Redis index (when Redis does not answer, the worker's reconciler repairs the index).\n" +
      'A transition the state machine refuses exits 1 and names the current and the allowed states.',
    examples: [`klaxon ${path} 8c0e3f5e-4c1a-4e51-9f57-4cf5f1f3a0b9 --note "${name === 'ack' ? 'looking at it' : 'rolled back'}"`],
    async run(args, session) {
      const id = incidentId(args, path);
      const note = stringOption(args, 'note');
      if (note !== undefined && note.length > NOTE_MAX) throw new UsageError(`--note is longer than ${NOTE_MAX} characters`, path);
      const expectedVersion = intOption(args, 'expected-version', path, 1, 2 ** 31 - 1);
      const connected = await session.connect();
      const incident = await transitionIncident(connected.deps, {
        incidentId: id,
        scope: EVERY_TEAM,
        to,
        actor: session.actor,
        note,
        expectedVersion,
      });
      session.out(
        flag(args, 'json')
          ? json(presentIncident(incident))
          : line`incident ${incident.id} "${clip(incident.title, 70)}" is ${incident.state} (version ${incident.version})\n`,
      );
      if (connected.redisProblem) {
        session.err(line`note: ${connected.redisProblem}; the Redis index was not updated: the worker's reconciler repairs it from Postgres\n`);
      }
    },
  };
}

export const incidentGroup: Group = {
  name: 'incident',
  aliases: ['incidents'],
  summary: 'incidents: list, show, acknowledge, resolve',
  commands: [
    list,
    show,
    transition('ack', ['acknowledge'], IncidentState.ACKNOWLEDGED, 'acknowledge an incident (stops the paging)'),
    transition('resolve', [], IncidentState.RESOLVED, 'resolve an incident'),
  ],
};
