/**
 * What people do to an incident beyond the state machine's transitions:
 *
 * - escalate an incident that is already ESCALATING: the next level now, once. The
 *   caller states the level it saw; a stale or repeated request gets 409, so two
 *   clicks cannot skip two levels.
 * - reassign it to a user (who is now on the hook) or to a policy level (paged now,
 *   the timetable continuing from there).
 * - snooze an acknowledged incident: after the duration it goes back to escalating
 *   from level 1 (the worker resumes it; see src/domain/execution.ts).
 *
 * Each is one transaction holding the incident row lock, like every transition; a
 * level paged now is executed by the worker's own executor inside it.
 */
import type pg from 'pg';
import { DURATION_BOUNDS, durationWithin } from '../domain/durations.ts';
import { ConflictError, InvalidInputError, ReferenceNotFoundError } from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import { IncidentState, InvalidTransitionError, allowedTransitions, assertTransition, isTerminal } from '../domain/incident-states.ts';
import { followedPolicy } from '../domain/policy.ts';
import { appendEvents } from '../db/events.ts';
import { run, sql } from '../db/queries.ts';
import type { NewEvent } from '../domain/events.ts';
import type { EscalationRow, IncidentRow } from '../db/rows.ts';
import { executeEscalations } from '../engine/executor.ts';
import type { CommandDeps } from './deps.ts';
import { usersByIds } from '../engine/on-call.ts';
import { type ActionEffects, type EventAuthor, type LockedIncidentInput, actOnIncident, applyTransition, freezePolicy } from './transition-incident.ts';

interface ActionInput extends LockedIncidentInput, EventAuthor {
  note?: string | undefined;
}

export async function escalateIncident(deps: CommandDeps, input: ActionInput & { fromLevel?: number | undefined }): Promise<Incident> {
  return actOnIncident(deps, input, async (client, locked, change) => {
    if (input.fromLevel !== undefined && input.fromLevel !== locked.current_escalation_level) {
      throw levelConflict(locked, input.fromLevel);
    }
    if (locked.state !== IncidentState.ESCALATING) {
      assertTransition(locked.state, IncidentState.ESCALATING);
      return applyTransition(client, deps, locked, { to: IncidentState.ESCALATING, actor: input.actor, tokenId: input.tokenId, note: input.note }, change);
    }
    if (input.fromLevel === undefined) {
      // ESCALATING -> ESCALATING is no transition (DESIGN.md's table); moving to the
      // next level is, but only for a caller who says which level it saw.
      throw new InvalidTransitionError(
        locked.state,
        IncidentState.ESCALATING,
        allowedTransitions(locked.state),
        'To page the next level now, send from_level: the current_escalation_level you saw',
      );
    }
    const [next] = await run<EscalationRow>(client, sql('escalations-pending-of-incident'), [locked.id]);
    if (!next) {
      throw new ConflictError('escalation_exhausted', 'the escalation policy is exhausted: there is no next level to escalate to', {
        current_level: locked.current_escalation_level,
      });
    }
    await pageLevelNow(client, deps, locked, change, { level: next.escalation_level, cycle: next.repeat_cycle }, input, (escalationId) => ({
      kind: 'escalated_manually',
      details: { from_level: input.fromLevel, level: next.escalation_level, escalation_id: escalationId },
    }));
  });
}

export async function reassignIncident(deps: CommandDeps, input: ActionInput & { userId?: string | undefined; level?: number | undefined }): Promise<Incident> {
  return actOnIncident(deps, input, async (client, locked, change) => {
    const now = deps.clock.now();
    if (isTerminal(locked.state)) throw invalidState(locked, 'reassigned', ['OPEN', 'ESCALATING', 'ACKNOWLEDGED']);
    if (input.userId !== undefined) {
      const user = (await usersByIds(client, [input.userId])).get(input.userId);
      if (!user) throw new ReferenceNotFoundError([{ field: 'user_id', rule: 'exists', message: `no user with id ${input.userId}` }]);
      const assignees = [{ user_id: user.id, name: user.name, via: { type: 'reassignment', id: null } }];
      await run(client, sql('incident-set-assignees'), [locked.id, JSON.stringify(assignees), now]);
      await appendEvents(client, [actionEvent(locked, { kind: 'reassigned', details: { to_user: { id: user.id, name: user.name } } }, input, now)]);
      return;
    }
    const level = input.level as number;
    if (locked.state !== IncidentState.ESCALATING) throw invalidState(locked, 'reassigned to a level', ['ESCALATING']);
    const policy = followedPolicy(locked.policy_snapshot, deps.timetable.levelDelaysMs);
    if (level > policy.levels.length) {
      throw new InvalidInputError([{ field: 'level', rule: 'maximum', message: `the incident's policy has ${policy.levels.length} levels` }]);
    }
    // A new pass through the levels, starting at this one; its repeats count from here.
    const cycle = await nextCycle(client, locked.id);
    await run(client, sql('incident-set-cycle-base'), [locked.id, cycle, now]);
    await pageLevelNow(client, deps, locked, change, { level, cycle }, input, (escalationId) => ({
      kind: 'reassigned',
      details: { to_level: level, repeat_cycle: cycle, escalation_id: escalationId },
    }));
  });
}

export async function snoozeIncident(deps: CommandDeps, input: ActionInput & { duration: string }): Promise<Incident> {
  // A duration past Number.MAX_SAFE_INTEGER ms (`99999999999999999999h`, a 500 the fuzz test found) is out of range too.
  const snooze = durationWithin(input.duration, DURATION_BOUNDS.snooze);
  if (!snooze.ok) throw new InvalidInputError([{ field: 'duration', rule: 'range', message: `must be ${DURATION_BOUNDS.snooze.text}` }]);
  const durationMs = snooze.ms;
  return actOnIncident(deps, input, async (client, locked, change) => {
    if (locked.state !== IncidentState.ACKNOWLEDGED) throw invalidState(locked, 'snoozed', ['ACKNOWLEDGED']);
    const now = deps.clock.now();
    const until = new Date(now.getTime() + durationMs);
    // Snoozing again replaces the earlier snooze.
    const cancelled = await run<{ id: string }>(client, sql('escalations-cancel-pending'), [locked.id, now]);
    change.remove.push(...cancelled.map((row) => row.id));
    // The policy it will escalate on when the snooze ends, frozen now if it never escalated.
    await freezePolicy(client, deps, locked);
    const cycle = await nextCycle(client, locked.id);
    const [row] = await run<EscalationRow>(client, sql('escalation-insert'), [locked.id, 1, cycle, until, now, 'snooze_end']);
    if (!row) throw new Error('the snooze row already exists');
    change.add.push({ id: row.id, dueAt: row.scheduled_at });
    await run(client, sql('incident-set-snooze'), [locked.id, until, now]);
    await appendEvents(client, [actionEvent(locked, { kind: 'snoozed', details: { until, duration_ms: durationMs, escalation_id: row.id } }, input, now)]);
  });
}

/** What an action records about itself (its kind and details; the incident, author and time are added). */
type ActionRecord =
  | Pick<Extract<NewEvent, { kind: 'escalated_manually' }>, 'kind' | 'details'>
  | Pick<Extract<NewEvent, { kind: 'reassigned' }>, 'kind' | 'details'>
  | Pick<Extract<NewEvent, { kind: 'snoozed' }>, 'kind' | 'details'>;

/** An action's event: by its author, leaving the incident's state as it is. */
function actionEvent(locked: IncidentRow, record: ActionRecord, author: EventAuthor & { note?: string | undefined }, now: Date): NewEvent {
  return {
    ...record,
    incidentId: locked.id,
    from: locked.state,
    to: locked.state,
    occurredAt: now,
    actor: author.actor,
    note: author.note,
    tokenId: author.tokenId,
  };
}

/** Cancels what is pending, then pages `level` of `cycle` now through the executor, in this transaction. */
async function pageLevelNow(
  client: pg.PoolClient,
  deps: CommandDeps,
  locked: IncidentRow,
  change: ActionEffects,
  step: { level: number; cycle: number },
  author: EventAuthor & { note?: string | undefined },
  record: (escalationId: string) => ActionRecord,
): Promise<void> {
  const now = deps.clock.now();
  const cancelled = await run<{ id: string }>(client, sql('escalations-cancel-pending'), [locked.id, now]);
  change.remove.push(...cancelled.map((row) => row.id));
  const [row] = await run<EscalationRow>(client, sql('escalation-insert'), [locked.id, step.level, step.cycle, now, now, 'manual']);
  if (!row) throw new ConflictError('level_already_paged', `level ${step.level} of cycle ${step.cycle} was already paged`);
  await appendEvents(client, [actionEvent(locked, record(row.id), author, now)]);
  const result = await executeEscalations(client, deps, [row.id]);
  change.add.push(...result.scheduled);
  change.executions.push(result);
}

async function nextCycle(client: pg.PoolClient, incidentId: string): Promise<number> {
  const [row] = await run<{ max_cycle: number }>(client, sql('escalations-max-cycle'), [incidentId]);
  return (row?.max_cycle ?? -1) + 1;
}

function levelConflict(locked: IncidentRow, fromLevel: number): ConflictError {
  return new ConflictError(
    'level_conflict',
    `the incident is at level ${locked.current_escalation_level}, not ${fromLevel}: it was escalated meanwhile; read it again`,
    { current_level: locked.current_escalation_level, from_level: fromLevel },
  );
}

function invalidState(locked: IncidentRow, what: string, allowed: IncidentState[]): ConflictError {
  return new ConflictError('invalid_state', `a ${locked.state} incident cannot be ${what}; allowed in: ${allowed.join(', ')}`, {
    current_state: locked.state,
    allowed_states: allowed,
  });
}
