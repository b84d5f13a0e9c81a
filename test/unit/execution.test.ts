import { expect } from 'chai';
import { type ClaimedEscalation, type ExecutionDecision, decideExecution } from '../../src/domain/execution.ts';
import type { IncidentState } from '../../src/domain/incident-states.ts';

const seed = { levelDelaysMs: [300_000, 900_000, 3_600_000] };
const now = new Date('2026-03-01T10:00:00.000Z');
const ms = (offset: number) => new Date(now.getTime() + offset);

const pending = (overrides: Partial<ClaimedEscalation> = {}): ClaimedEscalation => ({
  level: 1,
  repeatCycle: 0,
  status: 'PENDING',
  scheduledAt: now,
  ...overrides,
});

describe('deciding what to do with a claimed escalation', () => {
  const cases: [string, ClaimedEscalation, IncidentState, ExecutionDecision][] = [
    [
      'due now on an escalating incident: execute, level 2 due 15 min from now',
      pending(),
      'ESCALATING',
      { kind: 'execute', resumes: false, next: { kind: 'schedule', step: { level: 2, repeatCycle: 0, dueAt: ms(900_000) } } },
    ],
    [
      'overdue: execute, the next window starts now',
      pending({ scheduledAt: ms(-600_000) }),
      'ESCALATING',
      { kind: 'execute', resumes: false, next: { kind: 'schedule', step: { level: 2, repeatCycle: 0, dueAt: ms(900_000) } } },
    ],
    ['the last level: execute, then exhausted', pending({ level: 3 }), 'ESCALATING', { kind: 'execute', resumes: false, next: { kind: 'exhausted' } }],
    ['one millisecond early: requeue at its due time', pending({ scheduledAt: ms(1) }), 'ESCALATING', { kind: 'requeue', dueAt: ms(1) }],
    ['already executed: skip', pending({ status: 'EXECUTED' }), 'ESCALATING', { kind: 'skip', reason: 'not_pending' }],
    ['already cancelled: skip', pending({ status: 'CANCELLED' }), 'ACKNOWLEDGED', { kind: 'skip', reason: 'not_pending' }],
    ['incident acknowledged: cancel', pending(), 'ACKNOWLEDGED', { kind: 'cancel', reason: 'incident_not_escalating', incidentState: 'ACKNOWLEDGED' }],
    ['incident resolved: cancel', pending(), 'RESOLVED', { kind: 'cancel', reason: 'incident_not_escalating', incidentState: 'RESOLVED' }],
    ['incident still OPEN: cancel', pending(), 'OPEN', { kind: 'cancel', reason: 'incident_not_escalating', incidentState: 'OPEN' }],
    ['not yet due on a resolved incident: requeue (it is cancelled when due)', pending({ scheduledAt: ms(5) }), 'RESOLVED', { kind: 'requeue', dueAt: ms(5) }],
  ];
  for (const [name, escalation, state, expected] of cases) {
    it(name, () => expect(decideExecution(escalation, { state }, now, seed)).to.deep.equal(expected));
  }
});
