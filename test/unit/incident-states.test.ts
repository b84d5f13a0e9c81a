import { expect } from 'chai';
import {
  INCIDENT_STATES,
  IncidentState,
  InvalidTransitionError,
  allowedTransitions,
  assertTransition,
  canTransition,
  isTerminal,
} from '../../src/domain/incident-states.ts';
import { TRANSITION_TABLE } from '../support/transition-table.ts';

const { OPEN, ESCALATING, ACKNOWLEDGED, RESOLVED, CANCELLED } = IncidentState;

describe('incident state machine', () => {
  it('the table covers all 25 pairs of states exactly once', () => {
    const pairs = new Set(TRANSITION_TABLE.map(([from, to]) => `${from}->${to}`));
    expect(pairs.size).to.equal(25);
    expect(INCIDENT_STATES).to.have.members([OPEN, ESCALATING, ACKNOWLEDGED, RESOLVED, CANCELLED]);
  });

  for (const [from, to, allowed] of TRANSITION_TABLE) {
    it(`${from} -> ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
      expect(canTransition(from, to)).to.equal(allowed);
      if (allowed) {
        expect(() => assertTransition(from, to)).not.to.throw();
      } else {
        const error = (() => {
          try {
            assertTransition(from, to);
          } catch (caught) {
            return caught;
          }
          return undefined;
        })();
        expect(error).to.be.instanceOf(InvalidTransitionError);
        const refused = error as InvalidTransitionError;
        expect(refused.code).to.equal('invalid_transition');
        expect(refused.current).to.equal(from);
        expect(refused.requested).to.equal(to);
        expect(refused.allowed).to.deep.equal(allowedTransitions(from));
      }
    });
  }

  it('RESOLVED and CANCELLED are the only terminal states', () => {
    expect(INCIDENT_STATES.filter(isTerminal)).to.have.members([RESOLVED, CANCELLED]);
  });
});
