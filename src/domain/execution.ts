/**
 * What executing a claimed escalation means, decided without I/O from the rows as
 * they are once the incident is locked (DESIGN.md, invariants 2, 3, 5 and 6).
 */
import type { EscalationStatus, EscalationTrigger } from './incident.ts';
import { IncidentState } from './incident-states.ts';
import { type NextStep, type Timetable, nextStep } from './timetable.ts';

export interface ClaimedEscalation {
  level: number;
  repeatCycle: number;
  status: EscalationStatus;
  scheduledAt: Date;
  trigger?: EscalationTrigger;
}

export interface IncidentAtExecution {
  state: IncidentState;
  /** The cycle escalation (re)started in: repeats count from it. */
  cycleBase?: number;
}

export type ExecutionDecision =
  /** Someone else executed or cancelled it first: do nothing (exactly once). */
  | { kind: 'skip'; reason: 'not_pending' }
  /** Its due time has not come (a stale or early index entry): put it back, never fire early. */
  | { kind: 'requeue'; dueAt: Date }
  /** The incident stopped escalating but the row was left PENDING: cancel it. */
  | { kind: 'cancel'; reason: 'incident_not_escalating'; incidentState: IncidentState }
  /**
   * Page this level now, then schedule what follows. `resumes`: a snooze ended, so
   * the acknowledged incident goes back to ESCALATING first, from this cycle.
   */
  | { kind: 'execute'; next: NextStep; resumes: boolean };

export function decideExecution(escalation: ClaimedEscalation, incident: IncidentAtExecution, now: Date, timetable: Timetable): ExecutionDecision {
  if (escalation.status !== 'PENDING') return { kind: 'skip', reason: 'not_pending' };
  if (escalation.scheduledAt.getTime() > now.getTime()) return { kind: 'requeue', dueAt: escalation.scheduledAt };
  // The next level's window starts now, at this execution, not at this level's due
  // time: a level paged late still gets its full window (invariant 6).
  if (escalation.trigger === 'snooze_end' && incident.state === IncidentState.ACKNOWLEDGED) {
    return { kind: 'execute', resumes: true, next: nextStep(timetable, escalation, now, escalation.repeatCycle) };
  }
  if (incident.state !== IncidentState.ESCALATING) {
    return { kind: 'cancel', reason: 'incident_not_escalating', incidentState: incident.state };
  }
  return { kind: 'execute', resumes: false, next: nextStep(timetable, escalation, now, incident.cycleBase ?? 0) };
}
