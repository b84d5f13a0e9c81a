/** runLanes (src/domain/lanes.ts): every lane is waited for, and the first failure ends the others at their next turn. */
import { expect } from 'chai';
import { runLanes } from '../../src/domain/lanes.ts';

describe('runLanes', () => {
  it('runs the lanes at once over shared work, and resolves once all are done', async () => {
    const pieces = Array.from({ length: 10 }, (_, i) => i);
    const done: number[] = [];
    let inFlight = 0;
    let most = 0;
    const failure = await runLanes(
      3,
      async () => {
        for (let piece = pieces.shift(); piece !== undefined; piece = pieces.shift()) {
          inFlight += 1;
          most = Math.max(most, inFlight);
          await Promise.resolve();
          done.push(piece);
          inFlight -= 1;
        }
      },
      () => undefined,
    );
    expect(failure).to.equal(undefined);
    expect(done.sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).to.equal(3);
  });

  it('tells the others when one fails, waits for them to end their turn, and gives the first failure', async () => {
    const state = { failed: false, turnsAfterFailure: 0, stillRunning: 0 };
    let turn = 0;
    const failure = await runLanes(
      3,
      async () => {
        state.stillRunning += 1;
        try {
          while (!state.failed) {
            turn += 1;
            if (turn === 4) throw new Error('turn 4 broke');
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
          state.turnsAfterFailure += 1;
        } finally {
          state.stillRunning -= 1;
        }
      },
      () => {
        state.failed = true;
      },
    );
    expect(failure?.reason).to.be.an('error').with.property('message', 'turn 4 broke');
    // The two others saw the failure at their next turn, and had ended before runLanes resolved.
    expect(state.turnsAfterFailure).to.equal(2);
    expect(state.stillRunning).to.equal(0);
  });
});
