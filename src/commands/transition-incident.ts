/**
 * Moves an incident through the state machine: escalate, acknowledge, resolve,
 * cancel. One transaction locks the incident row, checks the transition, updates the
 * state, schedules level 1 (entering ESCALATING) or cancels every PENDING escalation
 * (leaving OPEN or ESCALATING), and appends the audit event. Redis is updated after
 * commit, best effort.
 */
import type pg from 'pg';
import { NotFoundError, VersionConflictError } from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import { IncidentState, assertTransition } from '../domain/incident-states.ts';
import { type PolicySnapshot, defaultPolicy, snapshotFromJson, snapshotToJson, timetableOf } from '../domain/policy.ts';
import { firstStep } from '../domain/timetable.ts';
import { type LevelTargetRow, levelsOf, snapshotOf } from './policies.ts';
import { type Queryable, run, sql } from '../db/queries.ts';
import { type EscalationRow, type IncidentRow, toIncident } from '../db/rows.ts';
import { inTransaction } from '../db/transaction.ts';
import { type TeamScope, canSee } from '../domain/team-scope.ts';
import type { IndexChange } from '../engine/index/pending.ts';
import type { CommandDeps } from './deps.ts';
import { appendEvents } from '../db/events.ts';
import type { ActedVia, AlertOrigin, EventKind, TransitionDetails } from '../domain/events.ts';
import type { ExecutionResult } from '../engine/executor.ts';
import { planTransitionNotices } from '../engine/notifications.ts';

export type TransitionTarget = Exclude<IncidentState, 'OPEN'>;

/** Who acts, as an incident's events record it. */
export interface EventAuthor {
  /** Free text: a person's name, a tool. */
  actor?: string | undefined;
  /** The API token that made the request (null: the worker, the CLI). */
  tokenId?: string | null | undefined;
}

export interface TransitionInput extends EventAuthor {
  incidentId: string;
  /** The caller's teams: another team's incident answers as not found. */
  scope: TeamScope;
  to: TransitionTarget;
  note?: string | undefined;
  /** When given, the transition is refused unless the incident is still at this version. */
  expectedVersion?: number | undefined;
  /** Done from a notification: who and through which channel, recorded in the event's details. */
  via?: ActedVia | undefined;
  /** Done by an alert: which, recorded in the event's details. */
  alert?: AlertOrigin | undefined;
}

/** The audit event kind written for entering each state. */
export const EVENT_KIND_FOR = {
  ESCALATING: 'escalation_started',
  ACKNOWLEDGED: 'acknowledged',
  RESOLVED: 'resolved',
  CANCELLED: 'cancelled',
} as const satisfies Readonly<Record<TransitionTarget, EventKind>>;

export async function transitionIncident(deps: CommandDeps, input: TransitionInput): Promise<Incident> {
  return actOnIncident(deps, input, async (client, locked, change) => {
    assertTransition(locked.state, input.to);
    return applyTransition(client, deps, locked, input, change);
  });
}

export interface LockedIncidentInput {
  incidentId: string;
  /** The caller's teams: another team's incident answers as not found. */
  scope: TeamScope;
  /** When given, the action is refused unless the incident is still at this version. */
  expectedVersion?: number | undefined;
}

/** What an action does that takes effect only once it commits: index changes, and levels it executed. */
export interface ActionEffects extends IndexChange {
  executions: ExecutionResult[];
}

/**
 * What every action on an existing incident shares: one transaction that locks the
 * incident row and checks the expected version, runs `work` (which may record index
 * changes and executions, and returns the incident as it leaves it, or nothing to have
 * it re-read), then, after commit, updates Redis (best effort) and counts the levels it
 * executed (a page counts where it is executed, whoever executes it).
 */
export async function actOnIncident(
  deps: CommandDeps,
  input: LockedIncidentInput,
  work: (client: pg.PoolClient, locked: IncidentRow, change: ActionEffects) => Promise<Incident | void>,
): Promise<Incident> {
  const change: ActionEffects = { add: [], remove: [], executions: [] };
  const incident = await inTransaction(deps.pool, async (client) => {
    // A retried transaction starts from an empty change again.
    change.add = [];
    change.remove = [];
    change.executions = [];
    const [locked] = await run<IncidentRow>(client, sql('incident-lock'), [input.incidentId]);
    if (!locked || !canSee(input.scope, locked.team_id)) throw new NotFoundError('incident', input.incidentId);
    if (input.expectedVersion !== undefined && input.expectedVersion !== locked.version) {
      throw new VersionConflictError(input.expectedVersion, locked.version);
    }
    const left = await work(client, locked, change);
    if (left) return left;
    const [row] = await run<IncidentRow>(client, sql('incident-get'), [input.incidentId]);
    return toIncident(row as IncidentRow);
  });
  await deps.pendingIndex.applyAfterCommit(change);
  // After the COMMIT returned: when the pages became durable.
  const committedAt = deps.clock.now();
  for (const execution of change.executions) deps.metrics?.recordExecution(execution, committedAt);
  return incident;
}

/**
 * The body of a transition, for callers that already hold the incident row lock in
 * their own transaction; the index changes it makes are added to `change`.
 */
export async function applyTransition(
  client: pg.PoolClient,
  deps: CommandDeps,
  locked: IncidentRow,
  input: Omit<TransitionInput, 'incidentId' | 'expectedVersion' | 'scope'>,
  change: IndexChange,
): Promise<Incident> {
  const now = deps.clock.now();
  const details: TransitionDetails = { ...(input.via ? { via: input.via } : {}), ...(input.alert ? { alert: input.alert } : {}) };

  // Frozen before the state changes, so the incident this returns shows its policy.
  const policy = input.to === IncidentState.ESCALATING ? await freezePolicy(client, deps, locked) : undefined;
  const [updated] = await run<IncidentRow>(client, sql('incident-set-state'), [locked.id, input.to, now]);
  if (!updated) throw new Error(`incident ${locked.id} vanished while locked`);

  if (policy) {
    const step = firstStep(timetableOf(policy), now, locked.cycle_base);
    const [row] = await run<EscalationRow>(client, sql('escalation-insert'), [locked.id, step.level, step.repeatCycle, step.dueAt, now, 'timetable']);
    if (row) {
      change.add.push({ id: row.id, dueAt: row.scheduled_at });
      details.scheduled = { escalation_id: row.id, level: row.escalation_level, due_at: row.scheduled_at.toISOString() };
    }
  }

  // Leaving OPEN or ESCALATING stops the timetable; leaving ACKNOWLEDGED ends a snooze.
  if (input.to !== IncidentState.ESCALATING) {
    const cancelled = (await run<{ id: string }>(client, sql('escalations-cancel-pending'), [locked.id, now])).map((row) => row.id);
    change.remove.push(...cancelled);
    details.cancelled_escalations = cancelled;
  }

  await appendEvents(client, [
    {
      incidentId: locked.id,
      kind: EVENT_KIND_FOR[input.to],
      from: locked.state,
      to: input.to,
      details,
      occurredAt: now,
      actor: input.actor,
      note: input.note,
      tokenId: input.tokenId,
    },
  ]);
  // Stop-paging notices to everyone paged so far, committed with the transition (issue 11).
  if (input.to === IncidentState.ACKNOWLEDGED || input.to === IncidentState.RESOLVED)
    await planTransitionNotices(client, updated, EVENT_KIND_FOR[input.to], now, input.actor ?? null);
  return toIncident(updated);
}

/**
 * The policy the incident follows, frozen the first time it starts escalating: its
 * service's policy, or the default one (the configured timetable).
 */
export async function freezePolicy(client: pg.PoolClient, deps: CommandDeps, incident: IncidentRow): Promise<PolicySnapshot> {
  if (incident.policy_snapshot) return snapshotFromJson(incident.policy_snapshot);
  const service = incident.service_id ? await serviceToOpenOn(client, deps, incident.service_id) : null;
  const policy = policyToFreeze(deps, service);
  await run(client, sql('incident-set-policy'), [incident.id, policy.policyId, policy.version, JSON.stringify(snapshotToJson(policy))]);
  return policy;
}

/** The policy an incident of this service (none: of no service) follows once it escalates: the service's, or the default one. */
export function policyToFreeze(deps: Pick<CommandDeps, 'timetable'>, service: ServiceToOpenOn | null): PolicySnapshot {
  return service?.policy ?? defaultPolicy(deps.timetable.levelDelaysMs);
}

/** A service as an incident opened or escalating on it needs it. */
export interface ServiceToOpenOn {
  name: string;
  teamId: string | null;
  /** Whether the incidents alerts open on it start escalating at once. */
  autoEscalate: boolean;
  /** The policy its incidents freeze when they start escalating: its own, or the default one (the configured timetable). */
  policy: PolicySnapshot;
}

/**
 * A service and the policy its incidents would freeze, in one statement and one
 * snapshot (service-facts.sql; it was one statement for the service, then two for its
 * policy and levels); null when the service does not exist. Not scoped: the caller
 * checks the service's team, and a service refers only to a policy it may.
 */
export async function serviceToOpenOn(db: Queryable, deps: Pick<CommandDeps, 'timetable'>, serviceId: string): Promise<ServiceToOpenOn | null> {
  const rows = await run<ServiceFactsRow>(db, sql('service-facts'), [serviceId]);
  const [first] = rows;
  if (!first) return null;
  let policy: PolicySnapshot;
  if (!first.escalation_policy_id) policy = defaultPolicy(deps.timetable.levelDelaysMs);
  else if (first.policy_name === null || first.policy_version === null || first.policy_repeat_count === null) {
    // Not in one snapshot, with the foreign key: said rather than assumed.
    throw new Error(`the policy ${first.escalation_policy_id} of the service ${serviceId} is gone`);
  } else {
    policy = snapshotOf({
      id: first.escalation_policy_id,
      name: first.policy_name,
      version: first.policy_version,
      repeatCount: first.policy_repeat_count,
      levels: levelsOf(rows),
    });
  }
  return { name: first.name, teamId: first.team_id, autoEscalate: first.auto_escalate, policy };
}

/** service-facts.sql's rows: the service's columns on each, then its policy's, then one level target's. */
interface ServiceFactsRow extends LevelTargetRow {
  name: string;
  team_id: string | null;
  auto_escalate: boolean;
  escalation_policy_id: string | null;
  policy_name: string | null;
  policy_version: number | null;
  policy_repeat_count: number | null;
}
