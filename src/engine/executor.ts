/**
 * Executes a batch of claimed escalations inside the caller's transaction:
 * lock the incidents, re-read the escalations, decide each one (pure), then apply
 * the decisions with a handful of set-based statements, whatever the batch size.
 * Every write is conditional on the row still being PENDING, so a batch that lost a
 * race does nothing for the rows it lost (exactly once, DESIGN.md invariant 2).
 *
 * The worker asks it not to wait for incidents another session holds (a transition
 * in flight, or a worker stalled inside its transaction): their rows come back as
 * `busy`, and the worker hands them back for shortly after. A command runs it inside
 * its own transaction, which already holds the incident, and waits as usual.
 */
import type pg from 'pg';
import type { Clock } from '../clock/clock.ts';
import { type ExecutionDecision, decideExecution } from '../domain/execution.ts';
import type { Assignee } from '../domain/incident.ts';
import type { IncidentState } from '../domain/incident-states.ts';
import { type PolicySnapshot, followedPolicy, timetableOf } from '../domain/policy.ts';
import type { Timetable } from '../domain/timetable.ts';
import { appendEvents } from '../db/events.ts';
import { run, sql } from '../db/queries.ts';
import type { NewEvent } from '../domain/events.ts';
import type { EscalationRow } from '../db/rows.ts';
import type { Logger } from '../log/logger.ts';
import { resolveTargets } from './targets.ts';
import { planLevelNotifications } from './notifications.ts';

export interface ExecutorDeps {
  clock: Clock;
  timetable: Timetable;
  logger: Logger;
}

export interface ExecutedEscalation {
  id: string;
  incidentId: string;
  level: number;
  repeatCycle: number;
  scheduledAt: Date;
  executedAt: Date;
  /** The people this level paged (empty: its targets resolved to nobody). */
  paged: Assignee[];
}

export interface ExecuteOptions {
  /**
   * 'wait' (the default): wait for incidents another session has locked. 'skip': leave
   * their rows alone and answer them in `busy`, never waiting (the worker).
   */
  lockedIncidents?: 'wait' | 'skip';
}

export interface ExecutionResult {
  executed: ExecutedEscalation[];
  /** Rows found PENDING on an incident that no longer escalates. */
  cancelled: string[];
  /** Rows another worker or a transition settled first, or that do not exist. */
  skipped: string[];
  /** Rows not yet due: to go back in the index at their due time. */
  requeued: { id: string; dueAt: Date }[];
  /** The next levels scheduled by the executions. */
  scheduled: { id: string; dueAt: Date }[];
  /** Incidents whose timetable ran out with this execution. */
  exhausted: string[];
  /** Rows whose incident another session holds (lockedIncidents 'skip'): not touched, to be tried again shortly. */
  busy: string[];
  /** Rows kept out of batches after their execution failed too often (src/worker/batches.ts): not touched. */
  quarantined: string[];
}

export function emptyResult(): ExecutionResult {
  return { executed: [], cancelled: [], skipped: [], requeued: [], scheduled: [], exhausted: [], busy: [], quarantined: [] };
}

export async function executeEscalations(
  client: pg.PoolClient,
  deps: ExecutorDeps,
  ids: string[],
  { lockedIncidents = 'wait' }: ExecuteOptions = {},
): Promise<ExecutionResult> {
  const result = emptyResult();
  if (ids.length === 0) return result;

  const lockQuery = lockedIncidents === 'skip' ? 'incidents-lock-for-escalations-skip-locked' : 'incidents-lock-for-escalations';
  const locked = new Map((await run<LockedIncident>(client, sql(lockQuery), [ids])).map((row) => [row.id, row]));
  const found = await run<ExecutableRow & { quarantined: boolean }>(client, sql('escalations-by-ids'), [ids]);
  const foundIds = new Set(found.map((row) => row.id));
  result.skipped.push(...ids.filter((id) => !foundIds.has(id)));
  // Only rows whose incident this transaction holds are decided: the others may be
  // changing under another session's lock (with 'wait', every incident is held). A
  // quarantined row is not touched at all, its incident's policy not even read: that
  // may be what throws.
  const rows: ExecutableRow[] = [];
  for (const row of found) {
    if (!locked.has(row.incident_id)) result.busy.push(row.id);
    else if (row.quarantined && row.status === 'PENDING') result.quarantined.push(row.id);
    else rows.push(row);
  }
  const incidents = new Map<string, IncidentForExecution>();
  for (const { incident_id: id } of rows) {
    const incident = locked.get(id);
    if (incident && !incidents.has(id)) {
      incidents.set(id, {
        state: incident.state,
        cycleBase: incident.cycle_base,
        policy: followedPolicy(incident.policy_snapshot, deps.timetable.levelDelaysMs),
      });
    }
  }

  // One instant for the whole batch: it is the execution time of every row in it.
  const now = deps.clock.now();
  const decided = rows.map((row) => ({
    row,
    decision: decideRow(row, incidents.get(row.incident_id), now),
  }));

  const toCancel = decided.filter(({ decision }) => decision.kind === 'cancel');
  if (toCancel.length > 0) {
    const cancelled = await run<{ id: string }>(client, sql('escalations-mark-cancelled'), [toCancel.map(({ row }) => row.id), now]);
    result.cancelled.push(...cancelled.map((row) => row.id));
    for (const { row, decision } of toCancel) {
      deps.logger.info('cancelled an escalation: its incident no longer escalates', {
        escalation_id: row.id,
        incident_id: row.incident_id,
        incident_state: decision.kind === 'cancel' ? decision.incidentState : undefined,
      });
    }
  }

  for (const { row, decision } of decided) {
    if (decision.kind === 'skip') result.skipped.push(row.id);
    if (decision.kind === 'requeue') result.requeued.push({ id: row.id, dueAt: decision.dueAt });
  }

  const toExecute = decided.filter(({ decision }) => decision.kind === 'execute');
  if (toExecute.length === 0) return result;
  const marked = new Set((await run<{ id: string }>(client, sql('escalations-mark-executed'), [toExecute.map(({ row }) => row.id), now])).map((row) => row.id));
  const executed = toExecute.filter(({ row }) => marked.has(row.id));
  result.skipped.push(...toExecute.filter(({ row }) => !marked.has(row.id)).map(({ row }) => row.id));
  if (executed.length === 0) return result;

  // A snooze ended: those incidents go back to ESCALATING before the page.
  const resumed = executed.filter(({ decision }) => decision.kind === 'execute' && decision.resumes);
  if (resumed.length > 0) {
    await run(client, sql('incidents-resume-from-snooze'), [resumed.map(({ row }) => row.incident_id), resumed.map(({ row }) => row.repeat_cycle), now]);
  }

  // Schedule what follows each execution (idempotent on incident, cycle, level).
  const steps = executed.flatMap(({ row, decision }) =>
    decision.kind === 'execute' && decision.next.kind === 'schedule' ? [{ incidentId: row.incident_id, ...decision.next.step }] : [],
  );
  const inserted =
    steps.length === 0
      ? []
      : await run<{ id: string; incident_id: string; scheduled_at: Date }>(client, sql('escalations-insert-batch'), [
          steps.map((step) => step.incidentId),
          steps.map((step) => step.level),
          steps.map((step) => step.repeatCycle),
          steps.map((step) => step.dueAt),
          now,
        ]);
  result.scheduled.push(...inserted.map((row) => ({ id: row.id, dueAt: row.scheduled_at })));
  const nextOf = new Map(inserted.map((row) => [row.incident_id, row]));

  // Who each level pages, resolved now: schedules answer with whoever is on call at this instant.
  const targetsOf = executed.map(({ row }) => incidents.get(row.incident_id)?.policy.levels[row.escalation_level - 1]?.targets ?? []);
  const paged = await resolveTargets(client, targetsOf, now);

  // The highest level paged per incident (a batch may hold two rows of one incident).
  const pagedNow = new Map<string, { level: number; assignees: Assignee[] }>();
  executed.forEach(({ row }, i) => {
    const current = pagedNow.get(row.incident_id);
    if (!current || row.escalation_level >= current.level) {
      pagedNow.set(row.incident_id, { level: row.escalation_level, assignees: paged[i] ?? [] });
    }
  });
  await run(client, sql('incidents-set-level-batch'), [
    [...pagedNow.keys()],
    [...pagedNow.values()].map((p) => p.level),
    [...pagedNow.values()].map((p) => JSON.stringify(p.assignees)),
    now,
  ]);

  const events: NewEvent[] = [];
  executed.forEach(({ row, decision }, i) => {
    const resumes = decision.kind === 'execute' && decision.resumes;
    if (resumes) {
      events.push({
        incidentId: row.incident_id,
        kind: 'snooze_ended',
        from: 'ACKNOWLEDGED',
        to: 'ESCALATING',
        occurredAt: now,
        details: { escalation_id: row.id },
      });
    }
    const next = nextOf.get(row.incident_id);
    const pagedUsers = paged[i] ?? [];
    events.push({
      incidentId: row.incident_id,
      kind: 'escalated',
      from: 'ESCALATING',
      to: 'ESCALATING',
      occurredAt: now,
      details: {
        escalation_id: row.id,
        level: row.escalation_level,
        repeat_cycle: row.repeat_cycle,
        trigger: row.trigger,
        scheduled_at: row.scheduled_at.toISOString(),
        lateness_ms: now.getTime() - row.scheduled_at.getTime(),
        targets: targetsOf[i],
        // Who was paged; an empty list is recorded as such ("nobody"), and the escalation moves on.
        paged: pagedUsers,
        nobody: pagedUsers.length === 0,
        next: next ? { escalation_id: next.id, due_at: next.scheduled_at.toISOString() } : null,
      },
    });
    if (decision.kind === 'execute' && decision.next.kind === 'exhausted') {
      result.exhausted.push(row.incident_id);
      events.push({
        incidentId: row.incident_id,
        kind: 'escalation_exhausted',
        from: 'ESCALATING',
        to: 'ESCALATING',
        occurredAt: now,
        details: { last_level: row.escalation_level, repeat_cycle: row.repeat_cycle },
      });
    }
    result.executed.push({
      id: row.id,
      incidentId: row.incident_id,
      level: row.escalation_level,
      repeatCycle: row.repeat_cycle,
      scheduledAt: row.scheduled_at,
      executedAt: now,
      paged: pagedUsers,
    });
  });
  await appendEvents(client, events);
  // The pages' outbox rows commit with the level (issue 11; src/engine/notifications.ts).
  await planLevelNotifications(client, result.executed, (e) => incidents.get(e.incidentId)?.policy.levels[e.level - 1]?.channels ?? null, now);
  return result;
}

/** What executing a row reads of it (escalations-by-ids.sql): no more columns than decisions use. */
type ExecutableRow = Pick<EscalationRow, 'id' | 'incident_id' | 'escalation_level' | 'repeat_cycle' | 'status' | 'trigger' | 'scheduled_at'>;

interface LockedIncident {
  id: string;
  state: IncidentState;
  policy_snapshot: unknown;
  cycle_base: number;
}

interface IncidentForExecution {
  state: IncidentState;
  cycleBase: number;
  policy: PolicySnapshot;
}

function decideRow(row: ExecutableRow, incident: IncidentForExecution | undefined, now: Date): ExecutionDecision {
  if (incident === undefined) return { kind: 'skip', reason: 'not_pending' }; // cannot happen: only rows of locked incidents are decided
  return decideExecution(
    { level: row.escalation_level, repeatCycle: row.repeat_cycle, status: row.status, scheduledAt: row.scheduled_at, trigger: row.trigger },
    { state: incident.state, cycleBase: incident.cycleBase },
    now,
    timetableOf(incident.policy),
  );
}
