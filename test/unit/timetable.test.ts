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
});
