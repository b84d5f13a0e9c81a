/**
 * Alert intake (issue 12): what an alert does, whichever protocol brought it (the Events
 * API v2, Alertmanager, Grafana: each is read into AlertEvents by src/domain/alerts/).
 *
 * - A trigger whose dedup key names an open incident of the service (OPEN, ESCALATING,
 *   ACKNOWLEDGED) counts an occurrence on it (alert_count, alert_last_seen_at; the
 *   payload is in its alert-log line) and pages nobody again. Otherwise it opens an
 *   incident with that key, escalating at once on the service's policy when the service
 *   says so (services.auto_escalate). Two identical triggers racing open one incident:
 *   the unique index on open incidents' keys decides (alert-triggers.sql, ON CONFLICT),
 *   and the loser counts an occurrence on the winner.
 * - Past INTAKE_STORM_PER_MINUTE new incidents in a minute on one service, and while
 *   such a storm goes on (its incident open and folding alerts within the last minute),
 *   a trigger that would open an incident folds into the service's one storm incident
 *   instead: that incident pages once, and counts the alerts folded into it.
 * - An acknowledge or resolve acts on the open incident with its key, as the integration
 *   key (the actor; the event's details name the alert); with none, it is ignored.
 * - A trigger of Alertmanager or Grafana (`reopens` false) whose incident was closed
 *   opens nothing: it is the same occurrence re-sent (its key holds its start).
 *
 * Every event, whatever became of it, leaves one alert-log line, written in the same
 * statement or transaction as its change, and the request's audit row rides in the
 * first of them (src/db/transaction.ts). Postgres is the truth: nothing here needs Redis
 * (the index of escalations is repaired by the worker when an update of it is lost).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AlertEvent, AlertOutcome, AlertSource, TriggerEvent } from '../domain/alerts/event.ts';
import { jsonProblem } from '../domain/alerts/reading.ts';
import type { FieldIssue } from '../domain/errors.ts';
import type { AlertOrigin, NewEvent } from '../domain/events.ts';
import { IncidentState } from '../domain/incident-states.ts';
import { SingleFlight } from '../domain/single-flight.ts';
import type { PolicySnapshot } from '../domain/policy.ts';
import { EVERY_TEAM, type TeamScope } from '../domain/team-scope.ts';
import { type AlertLogEntry, alertLogColumns } from '../db/alert-log.ts';
import { type AuditEntry, auditColumns, auditRecords } from '../db/audit-log.ts';
import { type Queryable, run, sql } from '../db/queries.ts';
import type { AlertLogRow } from '../db/rows.ts';
import { GroupCommit, GroupCommits } from '../db/group-commit.ts';
import { commitStatement } from '../db/transaction.ts';
import { eventRecords } from '../db/events.ts';
import type { PendingIndex } from '../engine/index/pending.ts';
import type { CommandDeps } from './deps.ts';
import { type OpeningRecord, commitOpening, openingParts } from './open-incident.ts';
import { getIncident } from './read-incidents.ts';
import { nothingLeftToDo } from './act-from-message.ts';
import { actOnIncident, applyTransition, serviceToOpenOn } from './transition-incident.ts';

/** The integration key an event came through, as intake needs it. */
export interface IntakeKey {
  id: string;
  serviceId: string;
  name: string;
  /** Its first characters (integration_keys.key_hint): names it in the actor without the secret. */
  hint: string;
}

export interface IntakeRequest {
  key: IntakeKey;
  source: AlertSource;
  /** The request's id (the alert log's request_id), null outside a request. */
  requestId: string | null;
  /** INTAKE_STORM_PER_MINUTE. */
  stormPerMinute: number;
  /** The services' facts this process knows (one cache per API process). */
  services: ServiceFactsCache;
}

export interface IntakeResult {
  outcome: AlertOutcome;
  /** The incident the event touched (null: none). */
  incidentId: string | null;
  /** The key the event was deduplicated by (made for a trigger that sent none). */
  dedupKey: string | null;
  /** Why, when the event was ignored. */
  reason: string | null;
}

/** A storm goes on while its incident is open and folded an alert within this. */
const STORM_QUIET_MS = 60_000;
/** Tries at a trigger whose service changed under its cached facts, or whose storm incident opened under it (each try is a fresh look). */
const MAX_TRIES = 3;

/** Who acted, in incident events and the audit log: the key's hint and name, never the key. */
export function keyActor(key: IntakeKey): string {
  return `integration key ${key.hint} (${key.name})`.slice(0, 300);
}

export async function ingestAlert(deps: CommandDeps, request: IntakeRequest, event: AlertEvent): Promise<IntakeResult> {
  return event.action === 'trigger' ? trigger(deps, request, event) : act(deps, request, event.action, event.dedupKey, event.raw);
}

/** An event that could not be read: its line in the alert log, with the errors. */
export async function recordInvalidAlert(deps: CommandDeps, request: IntakeRequest, payload: unknown, errors: readonly FieldIssue[]): Promise<void> {
  const reason = errors
    .map((error) => `${error.field}: ${error.message}`)
    .join('; ')
    .slice(0, 2000);
  // What Postgres cannot hold (nesting past its stack, NUL) is kept as a note, the errors beside it.
  const storable = jsonProblem(payload, '(body)') === null ? payload : { unstorable: 'the payload cannot be stored as it is: see parsed.errors' };
  await recordLine(deps, request, null, { ...line(request, null, null, storable, { errors }), outcome: 'invalid', reason });
}

async function trigger(deps: CommandDeps, request: IntakeRequest, event: TriggerEvent): Promise<IntakeResult> {
  const dedupKey = event.dedupKey ?? generatedDedupKey();
  const serviceId = request.key.serviceId;
  const parsed = {
    action: 'trigger',
    dedup_key: dedupKey,
    summary: event.summary,
    source: event.source,
    severity: event.severity,
    timestamp: event.timestamp,
    description: event.description,
  };
  const entry = (outcome: AlertOutcome): AlertLogEntry => ({ ...line(request, 'trigger', dedupKey, event.raw, parsed), outcome });
  const author = { actor: keyActor(request.key), tokenId: null };
  let refresh = false;
  for (let attempt = 1; attempt <= MAX_TRIES; attempt += 1) {
    const facts = await request.services.facts(deps, serviceId, refresh);
    const now = deps.clock.now();
    const origin: AlertOrigin = { source: request.source, integration_key_id: request.key.id, dedup_key: dedupKey };
    // What the alert's incident and the storm incident share: the service's facts, the instant, the author.
    const onService = { severity: event.severity, serviceId, teamId: facts.teamId, policy: facts.policy, now, author };
    const { record, events, firstEscalation } = openingParts({
      ...onService,
      incidentId: randomUUID(),
      title: event.summary,
      description: event.description,
      alert: { dedupKey, storm: false, origin, log: entry('opened') },
    });
    // One statement decides and writes, with the other triggers that arrive meanwhile
    // (alert-triggers.sql): a repeat, an opening, an ignored re-send.
    const row = await triggerGroups.of(deps.pool, deps.pendingIndex).submit({
      serviceId,
      events,
      firstEscalation,
      record: {
        ...record,
        dedup_key: dedupKey,
        auto_escalate: facts.autoEscalate,
        reopens: event.reopens,
        storm_per_minute: request.stormPerMinute,
        quiet_since: new Date(now.getTime() - STORM_QUIET_MS).toISOString(),
        integration_key_id: request.key.id,
        source: request.source,
        action: 'trigger',
        log_dedup_key: dedupKey,
        payload: event.raw ?? null,
        parsed,
        request_id: request.requestId,
      },
    });
    if ((row.verdict === 'repeat' || row.verdict === 'open') && row.id) {
      return done(row.inserted ? 'opened' : 'deduplicated', row.id, dedupKey);
    }
    if (row.verdict === 'ignore') {
      return { outcome: 'ignored', incidentId: null, dedupKey, reason: "this alert's incident is closed: the same occurrence sent again opens nothing" };
    }
    if (row.verdict === 'fold') {
      const folded = await fold(deps, serviceId, now, entry('folded'));
      if (folded) return done('folded', folded, dedupKey);
      const storm = await commitOpening(deps, {
        incidentId: randomUUID(),
        title: `Alert storm on ${facts.name}`.slice(0, 500),
        description:
          `More than ${request.stormPerMinute} alerts a minute asked for new incidents on this service. The alerts past that fold ` +
          'into this incident instead of paging one by one, while they keep coming: alert_count counts them, and the alert log ' +
          'lists every one (GET /incidents/{id}/alerts).',
        ...onService,
        alert: { dedupKey: null, storm: true, origin: { ...origin, dedup_key: null, storm: true }, log: entry('folded') },
      });
      if (storm) return done('folded', storm.id, dedupKey);
      continue; // another request opened the storm incident meanwhile: fold into it
    }
    refresh = row.verdict === 'stale'; // the service changed since it was cached: read it again
  }
  throw new Error(`intake: the incident of dedup key ${JSON.stringify(dedupKey)} kept changing under ${MAX_TRIES} tries`);
}

type TriggerVerdict = 'repeat' | 'open' | 'ignore' | 'fold' | 'stale';
/** The verdicts whose statement wrote the request's audit row. */
const WRITES_AUDIT: ReadonlySet<string> = new Set<TriggerVerdict>(['repeat', 'open', 'ignore']);

/** A trigger as alert-triggers.sql takes it: the opening it would make with its alert's own fields (one row of $1), and the opening's events. */
interface TriggerItem {
  serviceId: string;
  record: OpeningRecord & Record<string, unknown>;
  events: NewEvent[];
  /** The level 1 it would schedule, for the Redis index once it commits. */
  firstEscalation: { id: string; dueAt: Date } | undefined;
}

interface TriggerRow {
  verdict: TriggerVerdict;
  id: string | null;
  inserted: boolean | null;
}

/**
 * The group commits of triggers (src/db/group-commit.ts), per pool and Redis index (the
 * levels 1 a batch schedules go in with one update): at most one trigger per service
 * in a statement, since its storm window is upserted once.
 */
const triggerGroups = new GroupCommits<PendingIndex, TriggerItem, TriggerRow>(
  (pool, index) =>
    new GroupCommit(pool, (db, items, audits) => commitTriggers(db, index, items, audits), {
      keyOf: (item) => item.serviceId,
      wroteAudit: (row) => WRITES_AUDIT.has(row.verdict),
    }),
);

/** alert-triggers.sql for the triggers, each with its audit rows; then the levels 1 of the incidents it opened in the Redis index, in one update. */
async function commitTriggers(
  db: Queryable,
  index: PendingIndex,
  items: readonly TriggerItem[],
  audits: readonly (readonly AuditEntry[])[],
): Promise<TriggerRow[]> {
  const rows = await run<TriggerRow & { n: number }>(db, sql('alert-triggers'), [
    JSON.stringify(items.map((item, i) => ({ ...item.record, n: i + 1 }))),
    eventRecords(items.flatMap((item) => item.events)),
    auditRecords(audits.flatMap((entries, i) => entries.map((entry) => ({ entry, owner: i + 1 })))),
  ]);
  const byPosition = new Map(rows.map((row) => [Number(row.n), row]));
  const results = items.map((_, i): TriggerRow => {
    const row = byPosition.get(i + 1);
    if (!row) throw new Error(`alert-triggers.sql returned no row for trigger ${i + 1} of ${items.length}`);
    return { verdict: row.verdict, id: row.id, inserted: row.inserted };
  });
  const scheduled = items.flatMap((item, i) => (results[i]?.inserted && item.firstEscalation ? [item.firstEscalation] : []));
  await index.applyAfterCommit({ add: scheduled, remove: [] });
  return results;
}

/** What a trigger needs of its service: its team, its auto-escalation switch and the policy it would freeze. */
export interface ServiceFacts {
  name: string;
  teamId: string | null;
  autoEscalate: boolean;
  /** The policy an incident opened now freezes (undefined: auto-escalation is off). */
  policy: PolicySnapshot | undefined;
}

/** Services remembered; beyond this, the oldest is forgotten (a read brings it back). */
const MAX_SERVICES = 10_000;

/**
 * What each service's triggers need, kept in the API process between alerts: reading
 * the service and its policy took three statements per new alert. A read is one
 * statement (serviceToOpenOn, service-facts.sql): the alerts of a service not read
 * yet (the first of each service after a start, or after its creation) wait for it,
 * and under a burst on new services the pool's connections are what they wait for.
 * A cached answer is never trusted blindly: alert-triggers.sql compares it with the
 * service as it is (team, switch, policy id and version) and changes nothing when they
 * differ ("stale"), and the trigger reads them again. So an edited policy applies to
 * the very next alert.
 */
export class ServiceFactsCache {
  private readonly known = new Map<string, ServiceFacts>();
  /** One read per service at a time: the alerts that come meanwhile (a start, a burst on a new service) wait for it. */
  private readonly reads = new SingleFlight<ServiceFacts>();

  async facts(deps: CommandDeps, serviceId: string, refresh: boolean): Promise<ServiceFacts> {
    const cached = refresh ? undefined : this.known.get(serviceId);
    if (cached) return cached;
    // A refresh follows a "stale" verdict: a read that started before it may be what was stale.
    return refresh ? this.read(deps, serviceId) : this.reads.run(serviceId, () => this.read(deps, serviceId));
  }

  private async read(deps: CommandDeps, serviceId: string): Promise<ServiceFacts> {
    const service = await serviceToOpenOn(deps.pool, deps, serviceId);
    if (!service) throw new Error(`intake: the service ${serviceId} of an integration key is gone`);
    const facts: ServiceFacts = {
      name: service.name,
      teamId: service.teamId,
      autoEscalate: service.autoEscalate,
      policy: service.autoEscalate ? service.policy : undefined,
    };
    this.known.delete(serviceId);
    this.known.set(serviceId, facts);
    if (this.known.size > MAX_SERVICES) this.known.delete(this.known.keys().next().value as string);
    return facts;
  }
}

/** Folds a trigger into the service's open storm incident, with its line; that incident's id, or null when none is open. */
async function fold(deps: CommandDeps, serviceId: string, now: Date, entry: AlertLogEntry): Promise<string | null> {
  const [hit] = await commitStatement<{ id: string }>(deps.pool, sql('alert-fold'), [serviceId, now, ...alertLogColumns(entry)], (rows) => rows.length > 0);
  return hit?.id ?? null;
}

/** An acknowledge or a resolve: acts on the open incident with the key, as the integration key. */
async function act(deps: CommandDeps, request: IntakeRequest, action: 'acknowledge' | 'resolve', dedupKey: string, raw: unknown): Promise<IntakeResult> {
  const entry = line(request, action, dedupKey, raw, { action, dedup_key: dedupKey });
  const [open] = await run<{ id: string }>(deps.pool, sql('incident-open-of-alert'), [request.key.serviceId, dedupKey]);
  if (!open) {
    const reason = 'no open incident of this service has this dedup key';
    await recordLine(deps, request, null, { ...entry, outcome: 'ignored', reason });
    return { outcome: 'ignored', incidentId: null, dedupKey, reason };
  }
  let result: IntakeResult | undefined;
  await actOnIncident(deps, { incidentId: open.id, scope: EVERY_TEAM }, async (client, locked, change) => {
    const outcome: AlertOutcome = action === 'acknowledge' ? 'acknowledged' : 'resolved';
    // Closed (or acknowledged) since it was looked up: nothing left to do.
    const reason = nothingLeftToDo(action, locked.state) ? `the incident is already ${locked.state}` : null;
    result = { outcome: reason ? 'ignored' : outcome, incidentId: locked.id, dedupKey, reason };
    const settled = { ...entry, outcome: result.outcome, reason };
    await run(client, sql('alert-log-insert'), [locked.id, deps.clock.now(), request.key.serviceId, ...alertLogColumns(settled), ...auditColumns([])]);
    if (reason) return;
    const to = action === 'acknowledge' ? IncidentState.ACKNOWLEDGED : IncidentState.RESOLVED;
    const alert: AlertOrigin = { source: request.source, integration_key_id: request.key.id, dedup_key: dedupKey };
    return applyTransition(client, deps, locked, { to, actor: keyActor(request.key), tokenId: null, alert }, change);
  });
  if (!result) throw new Error('intake: the transaction ended without an outcome');
  return result;
}

/** The alert-log line of an event, its outcome still to say. */
function line(request: IntakeRequest, action: AlertLogEntry['action'], dedupKey: string | null, payload: unknown, parsed: unknown): AlertLogEntry {
  return {
    integrationKeyId: request.key.id,
    source: request.source,
    action,
    dedupKey,
    outcome: 'invalid',
    reason: null,
    payload,
    parsed,
    requestId: request.requestId,
  };
}

/** A line that touches no incident (or one locked in the caller's transaction), with the pending audit rows. */
async function recordLine(deps: CommandDeps, request: IntakeRequest, incidentId: string | null, entry: AlertLogEntry): Promise<void> {
  await commitStatement(deps.pool, sql('alert-log-insert'), [incidentId, deps.clock.now(), request.key.serviceId, ...alertLogColumns(entry)]);
}

function done(outcome: AlertOutcome, incidentId: string, dedupKey: string): IntakeResult {
  return { outcome, incidentId, dedupKey, reason: null };
}

/** The key of a trigger that sent none, as the Events API makes one: 32 hexadecimal characters. */
function generatedDedupKey(): string {
  return randomBytes(16).toString('hex');
}

/** A page of the alerts that touched an incident (its alert-log lines), oldest first. */
export async function listIncidentAlerts(
  db: Queryable,
  scope: TeamScope,
  incidentId: string,
  page: { after: string; limit: number },
): Promise<{ items: AlertLogRow[]; nextAfter: string | null }> {
  await getIncident(db, scope, incidentId);
  const rows = await run<AlertLogRow>(db, sql('alert-log-of-incident'), [incidentId, page.after, page.limit + 1]);
  const items = rows.slice(0, page.limit);
  return { items, nextAfter: rows.length > page.limit ? (items.at(-1)?.id ?? null) : null };
}
