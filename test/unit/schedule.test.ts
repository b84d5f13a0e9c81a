import { expect } from 'chai';
import { type Override, type Rotation, type Shift, onCallAt, shiftsBetween, validateRotation } from '../../src/domain/schedule.ts';

const t = (iso: string) => new Date(iso);
const HOUR_MS = 3_600_000;
const hoursBetween = (a: Date, b: Date) => (b.getTime() - a.getTime()) / HOUR_MS;
const shift = (userId: string, from: string, to: string, overridden = false): Shift => ({ userId, from: t(from), to: t(to), overridden });
const override = (userId: string, from: string, to: string): Override => ({ userId, from: t(from), to: t(to) });

/** Hands off Mondays 09:00 in Berlin; 2026-03-02 is a Monday. Clocks change 2026-03-29 and 2026-10-25. */
const berlinWeekly: Rotation = {
  userIds: ['alice', 'bob', 'carol'],
  shiftLength: 1,
  shiftUnit: 'weeks',
  handoffTime: '09:00',
  timeZone: 'Europe/Berlin',
  startDate: '2026-03-02',
};

/** New York jumps 02:00 → 03:00 on 2026-03-08 and falls back 02:00 → 01:00 on 2026-11-01. */
const newYorkDaily = (handoffTime: string, startDate: string): Rotation => ({
  userIds: ['alice', 'bob'],
  shiftLength: 1,
  shiftUnit: 'days',
  handoffTime,
  timeZone: 'America/New_York',
  startDate,
});

const berlinTwelveHours: Rotation = { ...berlinWeekly, shiftLength: 12, shiftUnit: 'hours', startDate: '2026-03-27' };

describe('on-call schedule', () => {
  describe('days and weeks hand off at the same local wall-clock time', () => {
    const cases: { name: string; rotation: Rotation; from: string; to: string; expected: Shift[]; lengthsH: number[] }[] = [
      {
        name: 'a weekly Berlin shift across spring forward is 167 h and still hands off at 09:00',
        rotation: berlinWeekly,
        from: '2026-03-16T09:00:00+01:00',
        to: '2026-04-06T09:00:00+02:00',
        expected: [
          shift('carol', '2026-03-16T09:00:00+01:00', '2026-03-23T09:00:00+01:00'),
          shift('alice', '2026-03-23T09:00:00+01:00', '2026-03-30T09:00:00+02:00'),
          shift('bob', '2026-03-30T09:00:00+02:00', '2026-04-06T09:00:00+02:00'),
        ],
        lengthsH: [168, 167, 168],
      },
      {
        name: 'a weekly Berlin shift across fall back is 169 h and still hands off at 09:00',
        rotation: berlinWeekly,
        from: '2026-10-12T09:00:00+02:00',
        to: '2026-11-02T09:00:00+01:00',
        expected: [
          shift('carol', '2026-10-12T09:00:00+02:00', '2026-10-19T09:00:00+02:00'),
          shift('alice', '2026-10-19T09:00:00+02:00', '2026-10-26T09:00:00+01:00'),
          shift('bob', '2026-10-26T09:00:00+01:00', '2026-11-02T09:00:00+01:00'),
        ],
        lengthsH: [168, 169, 168],
      },
      {
        name: 'a daily 02:30 New York hand-off falls in the spring gap and happens at 03:00, the first instant after it',
        rotation: newYorkDaily('02:30', '2026-03-06'),
        from: '2026-03-07T02:30:00-05:00',
        to: '2026-03-10T02:30:00-04:00',
        expected: [
          shift('bob', '2026-03-07T02:30:00-05:00', '2026-03-08T03:00:00-04:00'),
          shift('alice', '2026-03-08T03:00:00-04:00', '2026-03-09T02:30:00-04:00'),
          shift('bob', '2026-03-09T02:30:00-04:00', '2026-03-10T02:30:00-04:00'),
        ],
        lengthsH: [23.5, 23.5, 24],
      },
      {
        name: 'a daily 01:30 New York hand-off on the fall-back night happens at the first 01:30 (EDT)',
        rotation: newYorkDaily('01:30', '2026-10-30'),
        from: '2026-10-31T01:30:00-04:00',
        to: '2026-11-03T01:30:00-05:00',
        expected: [
          shift('bob', '2026-10-31T01:30:00-04:00', '2026-11-01T01:30:00-04:00'),
          shift('alice', '2026-11-01T01:30:00-04:00', '2026-11-02T01:30:00-05:00'),
          shift('bob', '2026-11-02T01:30:00-05:00', '2026-11-03T01:30:00-05:00'),
        ],
        lengthsH: [24, 25, 24],
      },
    ];
    for (const { name, rotation, from, to, expected, lengthsH } of cases) {
      it(name, () => {
        const shifts = shiftsBetween(rotation, [], t(from), t(to));
        expect(shifts).to.deep.equal(expected);
        expect(shifts.map((s) => hoursBetween(s.from, s.to))).to.deep.equal(lengthsH);
      });
    }

    it('the second 01:30 of the fall-back night is still inside the shift that started at the first', () => {
      expect(onCallAt(newYorkDaily('01:30', '2026-10-30'), [], t('2026-11-01T01:30:00-05:00'))).to.equal('alice');
    });
  });

  it('hours shifts are fixed durations, so across spring forward they drift an hour on the wall clock', () => {
    expect(shiftsBetween(berlinTwelveHours, [], t('2026-03-28T09:00:00+01:00'), t('2026-03-30T10:00:00+02:00'))).to.deep.equal([
      shift('carol', '2026-03-28T09:00:00+01:00', '2026-03-28T21:00:00+01:00'),
      shift('alice', '2026-03-28T21:00:00+01:00', '2026-03-29T10:00:00+02:00'),
      shift('bob', '2026-03-29T10:00:00+02:00', '2026-03-29T22:00:00+02:00'),
      shift('carol', '2026-03-29T22:00:00+02:00', '2026-03-30T10:00:00+02:00'),
    ]);
  });

  describe('who is on call from the rotation', () => {
    const cases: { name: string; rotation: Rotation; at: string; expected: string | null }[] = [
      { name: 'nobody before the first hand-off', rotation: berlinWeekly, at: '2026-03-02T08:59:59.999+01:00', expected: null },
      { name: 'the first user from the first hand-off', rotation: berlinWeekly, at: '2026-03-02T09:00:00+01:00', expected: 'alice' },
      { name: 'the new person exactly at a hand-off instant', rotation: berlinWeekly, at: '2026-03-09T09:00:00+01:00', expected: 'bob' },
      { name: 'the old person 1 ms before it', rotation: berlinWeekly, at: '2026-03-09T08:59:59.999+01:00', expected: 'alice' },
      { name: 'the rotation wraps round to the first user', rotation: berlinWeekly, at: '2026-03-23T09:00:00+01:00', expected: 'alice' },
      { name: 'the new person at a hand-off moved by spring forward', rotation: berlinWeekly, at: '2026-03-30T09:00:00+02:00', expected: 'bob' },
      { name: 'the old person 1 ms before it, at 08:59:59.999 summer time', rotation: berlinWeekly, at: '2026-03-30T08:59:59.999+02:00', expected: 'alice' },
      // 2026-03-02 to 2036-03-03 is 3654 days (three leap days) = 522 weeks; 522 % 3 = 0.
      { name: '10 years on, week 522 is alice again', rotation: berlinWeekly, at: '2036-03-05T12:00:00+01:00', expected: 'alice' },
      { name: '10 years on, 1 ms before week 522 is week 521: carol', rotation: berlinWeekly, at: '2036-03-03T08:59:59.999+01:00', expected: 'carol' },
      // 12 h shifts from 2026-03-27T08:00Z; 2036-03-27T08:00Z is 3653 days = 7306 shifts on; 7306 % 3 = 1.
      { name: '10 years on, an hours rotation has counted every absolute hour', rotation: berlinTwelveHours, at: '2036-03-27T08:00:00Z', expected: 'bob' },
    ];
    for (const { name, rotation, at, expected } of cases) {
      it(name, () => expect(onCallAt(rotation, [], t(at))).to.equal(expected));
    }
  });

  it('the shift index is computed, not counted: a window 100 years on is as cheap as one next week', () => {
    // 36,500 daily shifts after the start, far past the 10,000-shift guard a walk from the start would hit.
    // 2026-03-06 to 2126-03-06 is 36,524 days (24 leap days: 2028..2124, 2100 is not one); 36,524 is even.
    const rotation = newYorkDaily('09:00', '2026-03-06');
    expect(shiftsBetween(rotation, [], t('2126-03-06T00:00:00-05:00'), t('2126-03-08T00:00:00-05:00'))).to.deep.equal([
      shift('bob', '2126-03-06T00:00:00-05:00', '2126-03-06T09:00:00-05:00'),
      shift('alice', '2126-03-06T09:00:00-05:00', '2126-03-07T09:00:00-05:00'),
      shift('bob', '2126-03-07T09:00:00-05:00', '2126-03-08T00:00:00-05:00'),
    ]);
  });

  describe('overrides', () => {
    const cases: { name: string; overrides: Override[]; at: string; expected: string | null }[] = [
      {
        name: 'an override inside a shift takes it over',
        overrides: [override('dave', '2026-03-04T12:00:00+01:00', '2026-03-04T18:00:00+01:00')],
        at: '2026-03-04T12:00:00+01:00',
        expected: 'dave',
      },
      {
        name: 'an override is half-open: at its end the rotation is back',
        overrides: [override('dave', '2026-03-04T12:00:00+01:00', '2026-03-04T18:00:00+01:00')],
        at: '2026-03-04T18:00:00+01:00',
        expected: 'alice',
      },
      {
        name: 'an override spanning a hand-off holds across it',
        overrides: [override('erin', '2026-03-08T20:00:00+01:00', '2026-03-09T12:00:00+01:00')],
        at: '2026-03-09T09:00:00+01:00',
        expected: 'erin',
      },
      {
        name: 'after an override spanning a hand-off, the new shift owner takes over',
        overrides: [override('erin', '2026-03-08T20:00:00+01:00', '2026-03-09T12:00:00+01:00')],
        at: '2026-03-09T12:00:00+01:00',
        expected: 'bob',
      },
      {
        name: 'of overlapping overrides, the one that starts later wins',
        overrides: [
          override('dave', '2026-03-04T10:00:00+01:00', '2026-03-04T20:00:00+01:00'),
          override('erin', '2026-03-04T12:00:00+01:00', '2026-03-04T14:00:00+01:00'),
        ],
        at: '2026-03-04T13:00:00+01:00',
        expected: 'erin',
      },
      {
        name: 'the later-starting override wins whatever its place in the array',
        overrides: [
          override('erin', '2026-03-04T12:00:00+01:00', '2026-03-04T14:00:00+01:00'),
          override('dave', '2026-03-04T10:00:00+01:00', '2026-03-04T20:00:00+01:00'),
        ],
        at: '2026-03-04T13:00:00+01:00',
        expected: 'erin',
      },
      {
        name: 'once the later-starting override ends, the earlier one it covered applies again',
        overrides: [
          override('dave', '2026-03-04T10:00:00+01:00', '2026-03-04T20:00:00+01:00'),
          override('erin', '2026-03-04T12:00:00+01:00', '2026-03-04T14:00:00+01:00'),
        ],
        at: '2026-03-04T15:00:00+01:00',
        expected: 'dave',
      },
      {
        name: 'overrides starting together: the later one in the array wins',
        overrides: [
          override('dave', '2026-03-04T12:00:00+01:00', '2026-03-04T20:00:00+01:00'),
          override('erin', '2026-03-04T12:00:00+01:00', '2026-03-04T14:00:00+01:00'),
        ],
        at: '2026-03-04T13:00:00+01:00',
        expected: 'erin',
      },
      {
        name: 'an override before the rotation starts puts someone on call where nobody was',
        overrides: [override('dave', '2026-02-27T09:00:00+01:00', '2026-03-02T10:00:00+01:00')],
        at: '2026-02-28T09:00:00+01:00',
        expected: 'dave',
      },
      {
        name: 'an override running into the first shift holds until it ends',
        overrides: [override('dave', '2026-02-27T09:00:00+01:00', '2026-03-02T10:00:00+01:00')],
        at: '2026-03-02T09:30:00+01:00',
        expected: 'dave',
      },
      {
        name: 'an empty override (to <= from) changes nothing',
        overrides: [override('dave', '2026-03-04T12:00:00+01:00', '2026-03-04T12:00:00+01:00')],
        at: '2026-03-04T12:00:00+01:00',
        expected: 'alice',
      },
    ];
    for (const { name, overrides, at, expected } of cases) {
      it(name, () => expect(onCallAt(berlinWeekly, overrides, t(at))).to.equal(expected));
    }
  });

  describe('shiftsBetween', () => {
    const cases: { name: string; rotation?: Rotation; overrides: Override[]; from: string; to: string; expected: Shift[] }[] = [
      {
        name: 'clips the shifts at the edges of the window',
        overrides: [],
        from: '2026-03-04T00:00:00+01:00',
        to: '2026-03-10T00:00:00+01:00',
        expected: [
          shift('alice', '2026-03-04T00:00:00+01:00', '2026-03-09T09:00:00+01:00'),
          shift('bob', '2026-03-09T09:00:00+01:00', '2026-03-10T00:00:00+01:00'),
        ],
      },
      {
        name: 'splits a rotation shift around an override inside it',
        overrides: [override('dave', '2026-03-04T12:00:00+01:00', '2026-03-04T18:00:00+01:00')],
        from: '2026-03-04T00:00:00+01:00',
        to: '2026-03-05T00:00:00+01:00',
        expected: [
          shift('alice', '2026-03-04T00:00:00+01:00', '2026-03-04T12:00:00+01:00'),
          shift('dave', '2026-03-04T12:00:00+01:00', '2026-03-04T18:00:00+01:00', true),
          shift('alice', '2026-03-04T18:00:00+01:00', '2026-03-05T00:00:00+01:00'),
        ],
      },
      {
        name: 'an override spanning a hand-off is one piece, between the two shift owners',
        overrides: [override('erin', '2026-03-08T20:00:00+01:00', '2026-03-09T12:00:00+01:00')],
        from: '2026-03-08T00:00:00+01:00',
        to: '2026-03-10T00:00:00+01:00',
        expected: [
          shift('alice', '2026-03-08T00:00:00+01:00', '2026-03-08T20:00:00+01:00'),
          shift('erin', '2026-03-08T20:00:00+01:00', '2026-03-09T12:00:00+01:00', true),
          shift('bob', '2026-03-09T12:00:00+01:00', '2026-03-10T00:00:00+01:00'),
        ],
      },
      {
        name: 'the later-starting of overlapping overrides cuts into the earlier one',
        overrides: [
          override('dave', '2026-03-04T10:00:00+01:00', '2026-03-04T20:00:00+01:00'),
          override('erin', '2026-03-04T12:00:00+01:00', '2026-03-04T14:00:00+01:00'),
        ],
        from: '2026-03-04T09:00:00+01:00',
        to: '2026-03-04T21:00:00+01:00',
        expected: [
          shift('alice', '2026-03-04T09:00:00+01:00', '2026-03-04T10:00:00+01:00'),
          shift('dave', '2026-03-04T10:00:00+01:00', '2026-03-04T12:00:00+01:00', true),
          shift('erin', '2026-03-04T12:00:00+01:00', '2026-03-04T14:00:00+01:00', true),
          shift('dave', '2026-03-04T14:00:00+01:00', '2026-03-04T20:00:00+01:00', true),
          shift('alice', '2026-03-04T20:00:00+01:00', '2026-03-04T21:00:00+01:00'),
        ],
      },
      {
        name: 'merges back-to-back overrides for the same user into one piece',
        overrides: [
          override('dave', '2026-03-04T12:00:00+01:00', '2026-03-04T14:00:00+01:00'),
          override('dave', '2026-03-04T14:00:00+01:00', '2026-03-04T16:00:00+01:00'),
        ],
        from: '2026-03-04T12:00:00+01:00',
        to: '2026-03-04T16:00:00+01:00',
        expected: [shift('dave', '2026-03-04T12:00:00+01:00', '2026-03-04T16:00:00+01:00', true)],
      },
      {
        name: 'keeps an override for the shift owner apart from the rotation pieces: the flag differs',
        overrides: [override('alice', '2026-03-04T12:00:00+01:00', '2026-03-04T14:00:00+01:00')],
        from: '2026-03-04T11:00:00+01:00',
        to: '2026-03-04T15:00:00+01:00',
        expected: [
          shift('alice', '2026-03-04T11:00:00+01:00', '2026-03-04T12:00:00+01:00'),
          shift('alice', '2026-03-04T12:00:00+01:00', '2026-03-04T14:00:00+01:00', true),
          shift('alice', '2026-03-04T14:00:00+01:00', '2026-03-04T15:00:00+01:00'),
        ],
      },
      {
        name: 'merges consecutive shifts of a one-person rotation',
        rotation: { ...berlinWeekly, userIds: ['alice'] },
        overrides: [],
        from: '2026-03-04T00:00:00+01:00',
        to: '2026-03-20T00:00:00+01:00',
        expected: [shift('alice', '2026-03-04T00:00:00+01:00', '2026-03-20T00:00:00+01:00')],
      },
      {
        name: 'leaves a gap before the rotation starts where no override covers it',
        overrides: [override('dave', '2026-02-27T09:00:00+01:00', '2026-02-28T09:00:00+01:00')],
        from: '2026-02-27T00:00:00+01:00',
        to: '2026-03-03T00:00:00+01:00',
        expected: [
          shift('dave', '2026-02-27T09:00:00+01:00', '2026-02-28T09:00:00+01:00', true),
          shift('alice', '2026-03-02T09:00:00+01:00', '2026-03-03T00:00:00+01:00'),
        ],
      },
      {
        name: 'is empty for a window wholly before the rotation starts',
        overrides: [],
        from: '2026-02-01T00:00:00+01:00',
        to: '2026-02-02T00:00:00+01:00',
        expected: [],
      },
      {
        name: 'is empty for an empty window',
        overrides: [],
        from: '2026-03-04T00:00:00+01:00',
        to: '2026-03-04T00:00:00+01:00',
        expected: [],
      },
    ];
    for (const { name, rotation = berlinWeekly, overrides, from, to, expected } of cases) {
      it(name, () => expect(shiftsBetween(rotation, overrides, t(from), t(to))).to.deep.equal(expected));
    }

    it('refuses a window holding more than 10,000 shifts', () => {
      const hourly: Rotation = { ...berlinWeekly, shiftUnit: 'hours', shiftLength: 1 };
      expect(() => shiftsBetween(hourly, [], t('2026-03-02T09:00:00+01:00'), t('2028-03-02T09:00:00+01:00'))).to.throw(RangeError, /10000 shifts/);
    });
  });

  describe('validateRotation', () => {
    it('finds nothing wrong with a sound rotation', () => expect(validateRotation(berlinWeekly)).to.deep.equal([]));

    const cases: { name: string; change: Partial<Rotation>; problem: RegExp }[] = [
      { name: 'a time zone that is not in the IANA database', change: { timeZone: 'Mars/Olympus' }, problem: /timeZone "Mars\/Olympus"/ },
      { name: 'a hand-off hour past 23', change: { handoffTime: '25:00' }, problem: /handoffTime .* not "25:00"/ },
      { name: 'a hand-off time without two-digit hours', change: { handoffTime: '9:00' }, problem: /handoffTime .* not "9:00"/ },
      { name: 'a rotation with no users', change: { userIds: [] }, problem: /at least one user/ },
      { name: 'a blank user id', change: { userIds: ['alice', ' '] }, problem: /userIds\[1\] is blank/ },
      { name: 'a shift length of 0', change: { shiftLength: 0 }, problem: /shiftLength .* not 0/ },
      { name: 'a fractional shift length', change: { shiftLength: 1.5 }, problem: /shiftLength .* not 1.5/ },
      { name: 'a shift longer than a year of weeks', change: { shiftLength: 53 }, problem: /from 1 to 52, not 53/ },
      { name: 'a shift longer than a year of days', change: { shiftUnit: 'days', shiftLength: 366 }, problem: /from 1 to 365, not 366/ },
      { name: 'a shift longer than a year of hours', change: { shiftUnit: 'hours', shiftLength: 8761 }, problem: /from 1 to 8760, not 8761/ },
      { name: 'a start date that is not on the calendar', change: { startDate: '2026-02-30' }, problem: /startDate .* not "2026-02-30"/ },
      { name: 'a start date in another format', change: { startDate: '02/03/2026' }, problem: /startDate .* not "02\/03\/2026"/ },
    ];
    for (const { name, change, problem } of cases) {
      it(`reports ${name}`, () => {
        const problems = validateRotation({ ...berlinWeekly, ...change });
        expect(problems).to.have.length(1);
        expect(problems[0]).to.match(problem);
      });
    }

    it('reports every problem at once', () => {
      expect(validateRotation({ ...berlinWeekly, timeZone: 'Mars/Olympus', handoffTime: '9:00', userIds: [] })).to.have.length(3);
    });

    it('makes onCallAt and shiftsBetween refuse an invalid rotation', () => {
      const bad = { ...berlinWeekly, timeZone: 'Mars/Olympus' };
      expect(() => onCallAt(bad, [], t('2026-03-04T00:00:00Z'))).to.throw(RangeError, /invalid rotation: timeZone "Mars\/Olympus"/);
      expect(() => shiftsBetween(bad, [], t('2026-03-04T00:00:00Z'), t('2026-03-05T00:00:00Z'))).to.throw(RangeError, /invalid rotation/);
    });
  });
});
