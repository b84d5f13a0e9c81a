/**
 * The incident state machine: the one place that says which transitions exist.
 * The table is DESIGN.md's, word for word; the database keeps its own copy of the
 * part that must never be broken (a terminal incident never changes).
 */
import { DomainError } from './errors.ts';

export const IncidentState = {
  /** Opened, nobody paged yet; waits for someone to start escalating (or to act). */
  OPEN: 'OPEN',
  /** The timetable runs: levels fire one after another until someone responds. */
  ESCALATING: 'ESCALATING',
  /** A human took it; paging stops, the incident is still live until resolved. */
  ACKNOWLEDGED: 'ACKNOWLEDGED',
  /** Fixed. Terminal. */
  RESOLVED: 'RESOLVED',
  /** Withdrawn (a false alarm, a duplicate). Terminal. */
  CANCELLED: 'CANCELLED',
} as const;

export type IncidentState = (typeof IncidentState)[keyof typeof IncidentState];

export const INCIDENT_STATES: readonly IncidentState[] = Object.values(IncidentState);

const { ESCALATING, ACKNOWLEDGED, RESOLVED, CANCELLED } = IncidentState;

/**
 * from -> the states a caller may move it to. Everything not listed is refused.
 * One move belongs to the engine alone: when the snooze of an ACKNOWLEDGED incident
 * ends, the worker moves it back to ESCALATING (src/domain/execution.ts); no API
 * call can, so the table keeps ACKNOWLEDGED -> ESCALATING refused.
 */
const ALLOWED: Readonly<Record<IncidentState, readonly IncidentState[]>> = {
  OPEN: [ACKNOWLEDGED, ESCALATING, RESOLVED, CANCELLED],
  ESCALATING: [ACKNOWLEDGED, RESOLVED, CANCELLED],
  ACKNOWLEDGED: [RESOLVED, CANCELLED],
  RESOLVED: [],
  CANCELLED: [],
};

export function allowedTransitions(from: IncidentState): readonly IncidentState[] {
  return ALLOWED[from];
}

export function canTransition(from: IncidentState, to: IncidentState): boolean {
  return ALLOWED[from].includes(to);
}

export function isTerminal(state: IncidentState): boolean {
  return ALLOWED[state].length === 0;
}

export class InvalidTransitionError extends DomainError {
  readonly code = 'invalid_transition';
  constructor(
    readonly current: IncidentState,
    readonly requested: IncidentState,
    readonly allowed: readonly IncidentState[],
    hint?: string,
  ) {
    super(
      `cannot move an incident from ${current} to ${requested}; allowed from ${current}: ` +
        (allowed.length ? allowed.join(', ') : 'none (terminal state)') +
        (hint ? `. ${hint}` : ''),
    );
  }
}

export function assertTransition(from: IncidentState, to: IncidentState): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to, ALLOWED[from]);
}
