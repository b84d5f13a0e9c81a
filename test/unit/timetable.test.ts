import { expect } from 'chai';
import { firstStep, nextStep } from '../../src/domain/timetable.ts';

const seed = { levelDelaysMs: [5 * 60_000, 15 * 60_000, 60 * 60_000] };
const t0 = new Date('2026-03-01T09:00:00.000Z');
const at = (offsetMs: number) => new Date(t0.getTime() + offsetMs);

describe('escalation timetable', () => {
  it('level 1 is due one level-1 delay after escalation starts', () => {
    expect(firstStep(seed, t0)).to.deep.equal({ level: 1, repeatCycle: 0, dueAt: at(5 * 60_000) });
  });

  const cases: { name: string; executed: { level: number; repeatCycle: number }; executedAt: Date; expected: ReturnType<typeof nextStep> }[] = [
    {
      name: 'level 2 follows level 1 by its own delay',
      executed: { level: 1, repeatCycle: 0 },
      executedAt: at(5 * 60_000),
      expected: { kind: 'schedule', step: { level: 2, repeatCycle: 0, dueAt: at(20 * 60_000) } },
    },
    {
      name: 'a late execution gives the next level its full window from the execution time',
      executed: { level: 1, repeatCycle: 0 },
      executedAt: at(45 * 60_000),
      expected: { kind: 'schedule', step: { level: 2, repeatCycle: 0, dueAt: at(60 * 60_000) } },
    },
    {
      name: 'level 3 follows level 2 by 60 minutes',
      executed: { level: 2, repeatCycle: 0 },
      executedAt: at(20 * 60_000),
      expected: { kind: 'schedule', step: { level: 3, repeatCycle: 0, dueAt: at(80 * 60_000) } },
    },
    {
      name: 'the last level exhausts the timetable',
      executed: { level: 3, repeatCycle: 0 },
      executedAt: at(80 * 60_000),
      expected: { kind: 'exhausted' },
    },
    {
      name: 'the repeat cycle is carried to the next level',
      executed: { level: 1, repeatCycle: 2 },
      executedAt: t0,
      expected: { kind: 'schedule', step: { level: 2, repeatCycle: 2, dueAt: at(15 * 60_000) } },
    },
  ];
  for (const { name, executed, executedAt, expected } of cases) {
    it(name, () => expect(nextStep(seed, executed, executedAt)).to.deep.equal(expected));
  }

  it('a one-level timetable is exhausted after level 1', () => {
    expect(nextStep({ levelDelaysMs: [1000] }, { level: 1, repeatCycle: 0 }, t0)).to.deep.equal({ kind: 'exhausted' });
  });

  describe('with repeats', () => {
    const twoLevels = { levelDelaysMs: [60_000, 120_000], repeatCount: 2 };
    const repeatCases: [string, { level: number; repeatCycle: number }, number, ReturnType<typeof nextStep>][] = [
      [
        "after the last level of the first pass: level 1 of cycle 1, after level 1's delay",
        { level: 2, repeatCycle: 0 },
        0,
        { kind: 'schedule', step: { level: 1, repeatCycle: 1, dueAt: at(60_000) } },
      ],
      [
        'within a repeat: the next level of the same cycle',
        { level: 1, repeatCycle: 1 },
        0,
        { kind: 'schedule', step: { level: 2, repeatCycle: 1, dueAt: at(120_000) } },
      ],
      ['after the last level of the last repeat: exhausted', { level: 2, repeatCycle: 2 }, 0, { kind: 'exhausted' }],
      [
        'repeats count from the cycle escalation restarted in (a snooze ended in cycle 3)',
        { level: 2, repeatCycle: 4 },
        3,
        { kind: 'schedule', step: { level: 1, repeatCycle: 5, dueAt: at(60_000) } },
      ],
      ['and run out relative to it', { level: 2, repeatCycle: 5 }, 3, { kind: 'exhausted' }],
    ];
    for (const [name, executed, cycleBase, expected] of repeatCases) {
      it(name, () => expect(nextStep(twoLevels, executed, t0, cycleBase)).to.deep.equal(expected));
    }

    it('no repeat count means no repeats', () => {
      expect(nextStep({ levelDelaysMs: [1000, 1000] }, { level: 2, repeatCycle: 0 }, t0)).to.deep.equal({ kind: 'exhausted' });
    });

    it('a restart in a later cycle schedules its level 1 in that cycle', () => {
      expect(firstStep(twoLevels, t0, 4)).to.deep.equal({ level: 1, repeatCycle: 4, dueAt: at(60_000) });
    });
  });
});
