/**
 * Executes a batch of claimed escalations inside the caller's transaction:
 * lock the incidents, re-read the escalations, decide each one (pure), then apply
 * the decisions with a handful of set-based statements, whatever the batch size.
 * Every write is conditional on the row still being PENDING, so a batch that lost a
 * race does nothing for the rows it lost (exactly once, DESIGN.md invariant 2).
 */
import type pg from 'pg';
import type { Clock } from '../clock/clock.ts';
import { type ExecutionDecision, decideExecution } from '../domain/execution.ts';
import type { IncidentState } from '../domain/incident-states.ts';
import type { Timetable } from '../domain/timetable.ts';
import { run, sql } from '../db/queries.ts';
import type { EscalationRow } from '../db/rows.ts';
import type { Logger } from '../log/logger.ts';

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
}

export function emptyResult(): ExecutionResult {
  return { executed: [], cancelled: [], skipped: [], requeued: [], scheduled: [], exhausted: [] };
}

export async function executeEscalations(
  client: pg.PoolClient,
  deps: ExecutorDeps,
  ids: string[],
): Promise<ExecutionResult> {
  const result = emptyResult();
  if (ids.length === 0) return result;

  const incidents = await run<{ id: string; state: IncidentState }>(client, sql('incidents-lock-for-escalations'), [ids]);
  const stateOf = new Map(incidents.map((row) => [row.id, row.state]));
  const rows = await run<EscalationRow>(client, sql('escalations-by-ids'), [ids]);
  const found = new Set(rows.map((row) => row.id));
  result.skipped.push(...ids.filter((id) => !found.has(id)));

  // One instant for the whole batch: it is the execution time of every row in it.
  const now = deps.clock.now();
  const decided = rows.map((row) => ({
    row,
    decision: decideRow(row, stateOf.get(row.incident_id), now, deps.timetable),
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
  const marked = new Set(
    (await run<{ id: string }>(client, sql('escalations-mark-executed'), [toExecute.map(({ row }) => row.id), now])).map(
      (row) => row.id,
    ),
  );
  const executed = toExecute.filter(({ row }) => marked.has(row.id));
  result.skipped.push(...toExecute.filter(({ row }) => !marked.has(row.id)).map(({ row }) => row.id));
  if (executed.length === 0) return result;

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

  // The highest level paged per incident (a batch may hold two rows of one incident).
  const levelOf = new Map<string, number>();
  for (const { row } of executed) {
    levelOf.set(row.incident_id, Math.max(levelOf.get(row.incident_id) ?? 0, row.escalation_level));
  }
  await run(client, sql('incidents-set-level-batch'), [[...levelOf.keys()], [...levelOf.values()], now]);

  const events: { incidentId: string; kind: string; details: Record<string, unknown> }[] = [];
  for (const { row, decision } of executed) {
    const next = nextOf.get(row.incident_id);
    events.push({
      incidentId: row.incident_id,
      kind: 'escalated',
      details: {
        escalation_id: row.id,
        level: row.escalation_level,
        repeat_cycle: row.repeat_cycle,
        scheduled_at: row.scheduled_at,
        lateness_ms: now.getTime() - row.scheduled_at.getTime(),
        next: next ? { escalation_id: next.id, due_at: next.scheduled_at } : null,
      },
    });
    if (decision.kind === 'execute' && decision.next.kind === 'exhausted') {
      result.exhausted.push(row.incident_id);
      events.push({
        incidentId: row.incident_id,
        kind: 'escalation_exhausted',
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
    });
  }
  await run(client, sql('events-insert-batch'), [
    events.map((event) => event.incidentId),
    events.map((event) => event.kind),
    events.map((event) => stateOf.get(event.incidentId) ?? null),
    events.map((event) => JSON.stringify(event.details)),
    now,
  ]);
  return result;
}

function decideRow(
  row: EscalationRow,
  incidentState: IncidentState | undefined,
  now: Date,
  timetable: Timetable,
): ExecutionDecision {
  if (incidentState === undefined) return { kind: 'skip', reason: 'not_pending' }; // cannot happen: FK
  return decideExecution(
    { level: row.escalation_level, repeatCycle: row.repeat_cycle, status: row.status, scheduledAt: row.scheduled_at },
    incidentState,
    now,
    timetable,
  );
}
