import { IncidentState } from '../../src/domain/incident-states.ts';

const { OPEN, ESCALATING, ACKNOWLEDGED, RESOLVED, CANCELLED } = IncidentState;

// DESIGN.md's table, row by row: [from, to, allowed]. All 25 pairs.
export const TRANSITION_TABLE: [IncidentState, IncidentState, boolean][] = [
  [OPEN, OPEN, false],
  [OPEN, ESCALATING, true],
  [OPEN, ACKNOWLEDGED, true],
  [OPEN, RESOLVED, true],
  [OPEN, CANCELLED, true],
  [ESCALATING, OPEN, false],
  [ESCALATING, ESCALATING, false],
  [ESCALATING, ACKNOWLEDGED, true],
  [ESCALATING, RESOLVED, true],
  [ESCALATING, CANCELLED, true],
  [ACKNOWLEDGED, OPEN, false],
  [ACKNOWLEDGED, ESCALATING, false],
  [ACKNOWLEDGED, ACKNOWLEDGED, false],
  [ACKNOWLEDGED, RESOLVED, true],
  [ACKNOWLEDGED, CANCELLED, true],
  [RESOLVED, OPEN, false],
  [RESOLVED, ESCALATING, false],
  [RESOLVED, ACKNOWLEDGED, false],
  [RESOLVED, RESOLVED, false],
  [RESOLVED, CANCELLED, false],
  [CANCELLED, OPEN, false],
  [CANCELLED, ESCALATING, false],
  [CANCELLED, ACKNOWLEDGED, false],
  [CANCELLED, RESOLVED, false],
  [CANCELLED, CANCELLED, false],
];
