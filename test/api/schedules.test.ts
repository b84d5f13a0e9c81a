import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import type { ApiResponse } from '../support/http.ts';
import { type Json, UNKNOWN_ID, allPages, created, del, describeListing, expectRefused } from '../support/people.ts';

/**
 * /schedules: rotations, overrides, who is on call and the shifts in a window.
 * Time-zone facts the cases rely on:
 * - Europe/Berlin springs forward on Sunday 2026-03-29 (01:00Z, 02:00 CET → 03:00 CEST)
 *   and falls back on Sunday 2026-10-25 (01:00Z, 03:00 CEST → 02:00 CET).
 * - America/New_York springs forward on 2026-03-08 (07:00Z, 02:00 EST → 03:00 EDT)
 *   and falls back on 2026-11-01 (06:00Z, 02:00 EDT → 01:00 EST).
 * - 2026-03-02 is a Monday.
 */

interface RotationJson {
  user_ids: string[];
  shift_length: number;
  shift_unit: string;
  handoff_time: string;
  time_zone: string;
  start_date: string;
}
interface ScheduleJson {
  id: string;
  name: string;
  rotation: RotationJson;
  created_at: string;
  updated_at: string;
}
interface OnCallJson {
  schedule_id: string;
  at: string;
  user: { id: string; name: string; email: string } | null;
}
interface ShiftJson {
  user: { id: string; name: string | null };
  start: string;
  end: string;
  overridden: boolean;
}
interface ShiftsJson {
  schedule_id: string;
  from: string;
  to: string;
  items: ShiftJson[];
}
interface OverrideJson {
  id: string;
  schedule_id: string;
  user_id: string;
  start: string;
  end: string;
  created_at: string;
}
/** A shift as the tables below write it: who, from, to, and (when true) overridden. */
type ShiftRow = [who: string | null, start: string, end: string, overridden?: boolean];

const NOW = '2026-03-01T09:00:00.000Z';
const HOUR_MS = 3_600_000;

describe('schedules API', () => {
  let t: TestContext;
  const people: Record<'Alice' | 'Bob' | 'Carol' | 'Dave', { id: string; name: string; email: string }> = {
    Alice: { id: '', name: 'Alice', email: 'alice@example.com' },
    Bob: { id: '', name: 'Bob', email: 'bob@example.com' },
    Carol: { id: '', name: 'Carol', email: 'carol@example.com' },
    Dave: { id: '', name: 'Dave', email: 'dave@example.com' },
  };
  const alice = () => people.Alice.id;
  const bob = () => people.Bob.id;
  const carol = () => people.Carol.id;
  const dave = () => people.Dave.id;
  const nameOf = (id: string) => Object.values(people).find((p) => p.id === id)?.name ?? id;

  before(async () => {
    t = await createTestContext();
    for (const person of Object.values(people)) {
      person.id = (await created(t.api, '/users', { name: person.name, email: person.email })).id;
    }
  });
  beforeEach(() => t.clock.set(NOW));
  after(() => t.close());

  let serial = 0;
  const uniqueName = () => `Schedule ${(serial += 1)}`;

  /** Mondays 09:00 in Berlin from Monday 2026-03-02: Alice, Bob, Carol, Alice, ... */
  const berlinWeekly = (): RotationJson => ({
    user_ids: [alice(), bob(), carol()],
    shift_length: 1,
    shift_unit: 'weeks',
    handoff_time: '09:00',
    time_zone: 'Europe/Berlin',
    start_date: '2026-03-02',
  });
  const validBody = (rotation: Partial<RotationJson> = {}, name = uniqueName()) => ({ name, rotation: { ...berlinWeekly(), ...rotation } });

  const newSchedule = async (rotation: Partial<RotationJson> = {}, name = uniqueName()): Promise<ScheduleJson> =>
    (await created(t.api, '/schedules', validBody(rotation, name))) as unknown as ScheduleJson;
  const put = <T = Json>(path: string, body: unknown): Promise<ApiResponse<T>> =>
    t.api.raw<T>('PUT', path, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const addOverride = async (scheduleId: string, userId: string, start: string, end: string): Promise<OverrideJson> => {
    const res = await t.api.post<OverrideJson>(`/schedules/${scheduleId}/overrides`, { user_id: userId, start, end });
    expect(res.status, res.text).to.equal(201);
    return res.body;
  };

  /** The name of whoever is on call at `at` (null: nobody), after checking the response's shape. */
  const whoIsOnCall = async (scheduleId: string, at: string): Promise<string | null> => {
    const res = await t.api.get<OnCallJson>(`/schedules/${scheduleId}/on-call?at=${encodeURIComponent(at)}`);
    expect(res.status, res.text).to.equal(200);
    expect(res.body.schedule_id).to.equal(scheduleId);
    expect(res.body.at).to.equal(new Date(at).toISOString());
    if (res.body.user === null) return null;
    const person = Object.values(people).find((p) => p.id === res.body.user?.id);
    expect(res.body.user).to.deep.equal(person);
    return res.body.user.name;
  };

  /** The shifts in [from, to) as rows, after checking each names its user by id and name. */
  const shiftRows = async (scheduleId: string, from: string, to: string): Promise<ShiftRow[]> => {
    const res = await t.api.get<ShiftsJson>(`/schedules/${scheduleId}/shifts?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.include({ schedule_id: scheduleId, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
    for (const shift of res.body.items) expect(shift.user.name).to.equal(nameOf(shift.user.id));
    return res.body.items.map((s) => (s.overridden ? [s.user.name, s.start, s.end, true] : [s.user.name, s.start, s.end]));
  };
  const hours = (row: ShiftRow | undefined) => (Date.parse(String(row?.[2])) - Date.parse(String(row?.[1]))) / HOUR_MS;

  describe('create, read, replace, delete', () => {
    it('POST /schedules answers 201 with the schedule and its Location, stamped with the clock', async () => {
      const body = validBody();
      const res = await t.api.post<ScheduleJson>('/schedules', body);
      expect(res.status, res.text).to.equal(201);
      expect(res.headers.get('location')).to.equal(`/schedules/${res.body.id}`);
      expect(res.body).to.deep.equal({ id: res.body.id, name: body.name, team_id: null, rotation: body.rotation, created_at: NOW, updated_at: NOW });
      expect(res.body.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    });

    it('GET /schedules/:id returns what POST answered, for the id in any letter case', async () => {
      const schedule = await newSchedule();
      for (const id of [schedule.id, schedule.id.toUpperCase()]) {
        const res = await t.api.get(`/schedules/${id}`);
        expect(res.status, res.text).to.equal(200);
        expect(res.body).to.deep.equal(schedule);
      }
    });

    it('keeps the rotation in the order given, repeats included, with user ids in lower case', async () => {
      const schedule = await newSchedule({ user_ids: [bob().toUpperCase(), alice(), bob()], shift_unit: 'days', shift_length: 2 });
      expect(schedule.rotation.user_ids).to.deep.equal([bob(), alice(), bob()]);
      const rows = await t.pool.query('SELECT position, user_id FROM schedule_members WHERE schedule_id = $1 ORDER BY position', [schedule.id]);
      expect(rows.rows).to.deep.equal([
        { position: 0, user_id: bob() },
        { position: 1, user_id: alice() },
        { position: 2, user_id: bob() },
      ]);
    });

    it('PUT /schedules/:id replaces name and rotation, keeps created_at and the overrides, and stamps updated_at', async () => {
      const schedule = await newSchedule();
      const override = await addOverride(schedule.id, dave(), '2026-04-01T10:00:00Z', '2026-04-02T10:00:00Z');
      t.clock.advance(60_000);
      const replacement = {
        name: 'Renamed rotation',
        rotation: {
          user_ids: [carol(), alice()],
          shift_length: 12,
          shift_unit: 'hours',
          handoff_time: '21:30',
          time_zone: 'Asia/Tokyo',
          start_date: '2026-05-01',
        },
      };
      const res = await put<ScheduleJson>(`/schedules/${schedule.id}`, replacement);
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.deep.equal({ id: schedule.id, ...replacement, team_id: null, created_at: NOW, updated_at: t.clock.now().toISOString() });
      expect((await t.api.get(`/schedules/${schedule.id}`)).body).to.deep.equal(res.body);
      const members = await t.pool.query('SELECT user_id FROM schedule_members WHERE schedule_id = $1 ORDER BY position', [schedule.id]);
      expect(members.rows.map((r: { user_id: string }) => r.user_id)).to.deep.equal([carol(), alice()]);
      const overrides = await t.api.get<{ items: OverrideJson[] }>(`/schedules/${schedule.id}/overrides`);
      expect(overrides.body.items).to.deep.equal([override]);
    });

    it('PUT may change only the letter case of its own name', async () => {
      const schedule = await newSchedule({}, 'Case rotation');
      const res = await put<ScheduleJson>(`/schedules/${schedule.id}`, { name: 'CASE ROTATION', rotation: schedule.rotation });
      expect(res.status, res.text).to.equal(200);
      expect(res.body.name).to.equal('CASE ROTATION');
    });

    it('DELETE /schedules/:id answers 204 with no body; the schedule, its rotation and its overrides are gone', async () => {
      const schedule = await newSchedule();
      await addOverride(schedule.id, dave(), '2026-04-01T10:00:00Z', '2026-04-02T10:00:00Z');
      const res = await del(t.api, `/schedules/${schedule.id}`);
      expect(res.status).to.equal(204);
      expect(res.text).to.equal('');
      expect((await t.api.get(`/schedules/${schedule.id}`)).status).to.equal(404);
      for (const table of ['schedules WHERE id', 'schedule_members WHERE schedule_id', 'schedule_overrides WHERE schedule_id']) {
        expect((await t.pool.query(`SELECT 1 FROM ${table} = $1`, [schedule.id])).rowCount, table).to.equal(0);
      }
    });

    it('a name another schedule has, in any letter case, is 409 already_exists naming name, for POST and PUT, and stores nothing', async () => {
      await newSchedule({}, 'Payments primary');
      const own = await newSchedule({}, 'Payments secondary');
      const onPost = await expectRefused(t.pool, () => t.api.post('/schedules', validBody({}, 'PAYMENTS PRIMARY')), 409, 'already_exists');
      expect(onPost.field).to.equal('name');
      const onPut = await expectRefused(t.pool, () => put(`/schedules/${own.id}`, validBody({}, 'payments primary')), 409, 'already_exists');
      expect(onPut.field).to.equal('name');
    });
  });

  describeListing(
    '/schedules',
    () => t,
    ['delta', 'Alpha', 'charlie', 'Bravo', 'echo', 'Foxtrot', 'golf'],
    (name) => newSchedule({}, name),
  );

  describe('who is on call: a weekly Berlin rotation handing off Mondays at 09:00 local time', () => {
    let id: string;
    before(async () => {
      id = (await newSchedule()).id;
    });

    const cases: [at: string, who: string | null, why: string][] = [
      ['2026-03-02T07:59:59.999Z', null, '1 ms before the first hand-off (09:00 CET = 08:00Z): nobody yet'],
      ['2026-03-02T08:00:00.000Z', 'Alice', 'at the first hand-off: the first of the rotation'],
      ['2026-03-09T08:00:00.000Z', 'Bob', 'a week later: the second'],
      ['2026-03-23T07:59:59.999Z', 'Carol', '1 ms before the last winter hand-off: the third'],
      ['2026-03-23T08:00:00.000Z', 'Alice', 'at the last winter hand-off (08:00Z): round to the first again'],
      ['2026-03-29T00:59:59.999Z', 'Alice', '1 ms before the clocks spring forward'],
      ['2026-03-29T01:00:00.000Z', 'Alice', 'as the clocks spring forward: a clock change hands nothing off'],
      ['2026-03-30T06:59:59.999Z', 'Alice', '1 ms before the first summer hand-off (09:00 CEST = 07:00Z)'],
      ['2026-03-30T07:00:00.000Z', 'Bob', 'at the first summer hand-off, 07:00Z'],
      ['2026-03-30T07:59:59.999Z', 'Bob', '1 ms before 08:00Z, where a rotation fixed in UTC would hand off'],
      ['2026-03-30T08:00:00.000Z', 'Bob', 'at 08:00Z (10:00 CEST): no second hand-off'],
      ['2026-10-19T06:59:59.999Z', 'Carol', '1 ms before the last summer hand-off (07:00Z)'],
      ['2026-10-19T07:00:00.000Z', 'Alice', 'at the last summer hand-off, 07:00Z'],
      ['2026-10-25T00:59:59.999Z', 'Alice', '1 ms before the clocks fall back'],
      ['2026-10-25T01:00:00.000Z', 'Alice', 'as the clocks fall back: a clock change hands nothing off'],
      ['2026-10-26T07:00:00.000Z', 'Alice', 'at 07:00Z, only 08:00 CET now: not yet'],
      ['2026-10-26T07:59:59.999Z', 'Alice', '1 ms before the first winter hand-off (09:00 CET = 08:00Z)'],
      ['2026-10-26T08:00:00.000Z', 'Bob', 'at the first winter hand-off, 08:00Z'],
      ['2026-03-30T08:59:59.999+02:00', 'Alice', 'an instant with an offset: 08:59:59.999 CEST'],
      ['2026-03-30T09:00:00+02:00', 'Bob', 'an instant with an offset: 09:00 CEST'],
      ['2027-03-29T07:00:00.000Z', 'Carol', 'a year on, found without walking the weeks: 09:00 CEST on Monday 2027-03-29, week 56'],
    ];
    for (const [at, who, why] of cases) {
      it(`at ${at}: ${who ?? 'nobody'} (${why})`, async () => {
        expect(await whoIsOnCall(id, at)).to.equal(who);
      });
    }

    it('without ?at, answers for the injected clock’s now', async () => {
      t.clock.set('2026-03-30T07:00:00.000Z');
      const res = await t.api.get<OnCallJson>(`/schedules/${id}/on-call`);
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.deep.equal({ schedule_id: id, at: '2026-03-30T07:00:00.000Z', user: people.Bob });
      t.clock.advance(-1);
      expect((await t.api.get<OnCallJson>(`/schedules/${id}/on-call`)).body.user).to.deep.equal(people.Alice);
    });

    it('an unencoded + in ?at is a blank in a query string: 400 naming at (a client must send %2B)', async () => {
      await expectRefused(t.pool, () => t.api.get(`/schedules/${id}/on-call?at=2026-03-30T09:00:00+02:00`), 400, 'validation_failed', {
        field: 'at',
        rule: 'format',
      });
    });
  });

  describe('shifts in a window', () => {
    let weekly: string;
    before(async () => {
      weekly = (await newSchedule()).id;
    });

    it('across spring forward: the shift holding it lasts 167 h and the hand-offs stay at 09:00 local (08:00Z, then 07:00Z)', async () => {
      const rows = await shiftRows(weekly, '2026-03-20T00:00:00Z', '2026-04-08T00:00:00Z');
      expect(rows).to.deep.equal([
        ['Carol', '2026-03-20T00:00:00.000Z', '2026-03-23T08:00:00.000Z'],
        ['Alice', '2026-03-23T08:00:00.000Z', '2026-03-30T07:00:00.000Z'],
        ['Bob', '2026-03-30T07:00:00.000Z', '2026-04-06T07:00:00.000Z'],
        ['Carol', '2026-04-06T07:00:00.000Z', '2026-04-08T00:00:00.000Z'],
      ]);
      expect(rows.slice(1, 3).map(hours)).to.deep.equal([167, 168]);
    });

    it('across fall back: the shift holding it lasts 169 h and the hand-offs stay at 09:00 local (07:00Z, then 08:00Z)', async () => {
      const rows = await shiftRows(weekly, '2026-10-12T07:00:00Z', '2026-11-02T08:00:00Z');
      expect(rows).to.deep.equal([
        ['Carol', '2026-10-12T07:00:00.000Z', '2026-10-19T07:00:00.000Z'],
        ['Alice', '2026-10-19T07:00:00.000Z', '2026-10-26T08:00:00.000Z'],
        ['Bob', '2026-10-26T08:00:00.000Z', '2026-11-02T08:00:00.000Z'],
      ]);
      expect(rows.map(hours)).to.deep.equal([168, 169, 168]);
    });

    it('answers each shift with its user’s id and name, and the window as UTC instants', async () => {
      const res = await t.api.get<ShiftsJson>(`/schedules/${weekly}/shifts?from=${encodeURIComponent('2026-03-30T09:00:00+02:00')}&to=2026-03-30T08:00:00Z`);
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.deep.equal({
        schedule_id: weekly,
        from: '2026-03-30T07:00:00.000Z',
        to: '2026-03-30T08:00:00.000Z',
        items: [{ user: { id: bob(), name: 'Bob' }, start: '2026-03-30T07:00:00.000Z', end: '2026-03-30T08:00:00.000Z', overridden: false }],
      });
    });

    it('a window that ends where it starts, or before, is a 400 naming to', async () => {
      for (const [from, to] of [
        ['2026-04-01T00:00:00Z', '2026-04-01T00:00:00Z'],
        ['2026-04-02T00:00:00Z', '2026-04-01T00:00:00Z'],
      ]) {
        await expectRefused(t.pool, () => t.api.get(`/schedules/${weekly}/shifts?from=${from}&to=${to}`), 400, 'validation_failed', {
          field: 'to',
          rule: 'range',
        });
      }
    });

    it('hours are fixed durations: a 12-hour Berlin rotation handing off 09:00/21:00 CET drifts to 10:00/22:00 CEST', async () => {
      const twelve = await newSchedule({ user_ids: [alice(), bob()], shift_length: 12, shift_unit: 'hours', start_date: '2026-03-28' });
      expect(await shiftRows(twelve.id, '2026-03-28T08:00:00Z', '2026-03-30T08:00:00Z')).to.deep.equal([
        ['Alice', '2026-03-28T08:00:00.000Z', '2026-03-28T20:00:00.000Z'], // 09:00 CET
        ['Bob', '2026-03-28T20:00:00.000Z', '2026-03-29T08:00:00.000Z'], // 21:00 CET
        ['Alice', '2026-03-29T08:00:00.000Z', '2026-03-29T20:00:00.000Z'], // 10:00 CEST
        ['Bob', '2026-03-29T20:00:00.000Z', '2026-03-30T08:00:00.000Z'], // 22:00 CEST
      ]);
    });

    it('a window of an hourly rotation over 10 years (87,600 shifts) is 400 naming to, not a 500 or an enormous answer', async () => {
      const hourly = await newSchedule({ shift_length: 1, shift_unit: 'hours', start_date: '2026-01-01' });
      const problem = await expectRefused(
        t.pool,
        () => t.api.get(`/schedules/${hourly.id}/shifts?from=2026-01-01T00:00:00Z&to=2036-01-01T00:00:00Z`),
        400,
        'validation_failed',
        { field: 'to', rule: 'range' },
      );
      expect(problem.detail).to.include('10000 shifts');
      // 10,000 shifts exactly is still an answer.
      const res = await t.api.get<ShiftsJson>(
        `/schedules/${hourly.id}/shifts?from=2026-01-01T08:00:00Z&to=${new Date(Date.parse('2026-01-01T08:00:00Z') + 10_000 * HOUR_MS).toISOString()}`,
      );
      expect(res.status, res.text).to.equal(200);
      expect(res.body.items).to.have.length(10_000);
    });
  });

  describe('a daily America/New_York rotation handing off at 02:30', () => {
    it('on 2026-03-08, when 02:30 does not exist, hands off at 03:00 EDT (07:00Z), the first instant after the gap', async () => {
      const schedule = await newSchedule({ shift_unit: 'days', handoff_time: '02:30', time_zone: 'America/New_York', start_date: '2026-03-06' });
      const cases: [at: string, who: string][] = [
        ['2026-03-07T07:29:59.999Z', 'Alice'], // 1 ms before 02:30 EST
        ['2026-03-07T07:30:00.000Z', 'Bob'], // 02:30 EST
        ['2026-03-08T06:59:59.999Z', 'Bob'], // 01:59:59.999 EST, the last instant before the gap
        ['2026-03-08T07:00:00.000Z', 'Carol'], // 03:00 EDT
        ['2026-03-08T07:30:00.000Z', 'Carol'], // 03:30 EDT ("02:30 + the gap"): no second hand-off
        ['2026-03-09T06:29:59.999Z', 'Carol'],
        ['2026-03-09T06:30:00.000Z', 'Alice'], // 02:30 EDT
      ];
      for (const [at, who] of cases) expect(await whoIsOnCall(schedule.id, at), at).to.equal(who);
      const rows = await shiftRows(schedule.id, '2026-03-07T07:30:00Z', '2026-03-10T06:30:00Z');
      expect(rows).to.deep.equal([
        ['Bob', '2026-03-07T07:30:00.000Z', '2026-03-08T07:00:00.000Z'],
        ['Carol', '2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z'],
        ['Alice', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z'],
      ]);
      expect(rows.map(hours)).to.deep.equal([23.5, 23.5, 24]);
    });

    it('on 2026-11-01, when 01:30 happens twice, hands off at its first occurrence (01:30 EDT = 05:30Z) only', async () => {
      const schedule = await newSchedule({ shift_unit: 'days', handoff_time: '01:30', time_zone: 'America/New_York', start_date: '2026-10-30' });
      expect(await whoIsOnCall(schedule.id, '2026-11-01T05:29:59.999Z')).to.equal('Bob');
      expect(await whoIsOnCall(schedule.id, '2026-11-01T05:30:00.000Z')).to.equal('Carol');
      expect(await whoIsOnCall(schedule.id, '2026-11-01T06:30:00.000Z')).to.equal('Carol'); // 01:30 EST, the second time
      expect(await shiftRows(schedule.id, '2026-10-31T05:30:00Z', '2026-11-02T06:30:00Z')).to.deep.equal([
        ['Bob', '2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z'],
        ['Carol', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'], // 25 h
      ]);
    });
  });

  describe('before the rotation starts', () => {
    let id: string;
    before(async () => {
      // Monday 2026-06-01, 09:00 CEST = 07:00Z; the clock says 2026-03-01.
      id = (await newSchedule({ start_date: '2026-06-01' })).id;
    });

    it('nobody is on call: user null, now and until the first hand-off', async () => {
      const res = await t.api.get<OnCallJson>(`/schedules/${id}/on-call`);
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.deep.equal({ schedule_id: id, at: NOW, user: null });
      expect(await whoIsOnCall(id, '2026-06-01T06:59:59.999Z')).to.equal(null);
      expect(await whoIsOnCall(id, '2026-06-01T07:00:00.000Z')).to.equal('Alice');
    });

    it('shifts leave the time before the first hand-off empty', async () => {
      expect(await shiftRows(id, '2026-05-25T00:00:00Z', '2026-06-02T00:00:00Z')).to.deep.equal([
        ['Alice', '2026-06-01T07:00:00.000Z', '2026-06-02T00:00:00.000Z'],
      ]);
      expect(await shiftRows(id, '2026-05-01T00:00:00Z', '2026-05-02T00:00:00Z')).to.deep.equal([]);
    });

    it('an override applies there too', async () => {
      const schedule = await newSchedule({ start_date: '2026-06-01' });
      await addOverride(schedule.id, dave(), '2026-05-31T00:00:00Z', '2026-06-01T12:00:00Z');
      expect(await whoIsOnCall(schedule.id, '2026-05-30T23:59:59.999Z')).to.equal(null);
      expect(await whoIsOnCall(schedule.id, '2026-05-31T00:00:00.000Z')).to.equal('Dave');
      expect(await shiftRows(schedule.id, '2026-05-30T00:00:00Z', '2026-06-02T00:00:00Z')).to.deep.equal([
        ['Dave', '2026-05-31T00:00:00.000Z', '2026-06-01T12:00:00.000Z', true],
        ['Alice', '2026-06-01T12:00:00.000Z', '2026-06-02T00:00:00.000Z'],
      ]);
    });
  });

  describe('overrides', () => {
    it('POST /schedules/:id/overrides answers 201 with the override, instants in UTC, stamped with the clock', async () => {
      const schedule = await newSchedule();
      const res = await t.api.post<OverrideJson>(`/schedules/${schedule.id}/overrides`, {
        user_id: dave().toUpperCase(),
        start: '2026-04-01T12:00:00+02:00',
        end: '2026-04-02T10:00:00.5Z',
      });
      expect(res.status, res.text).to.equal(201);
      expect(res.body).to.deep.equal({
        id: res.body.id,
        schedule_id: schedule.id,
        user_id: dave(),
        start: '2026-04-01T10:00:00.000Z',
        end: '2026-04-02T10:00:00.500Z',
        created_at: NOW,
      });
    });

    it('changes who is on call inside its interval [start, end) only, shows in shifts as overridden, and is gone after DELETE', async () => {
      const schedule = await newSchedule();
      const override = await addOverride(schedule.id, dave(), '2026-04-01T10:00:00Z', '2026-04-02T10:00:00Z');
      const onCall: [at: string, who: string][] = [
        ['2026-04-01T09:59:59.999Z', 'Bob'],
        ['2026-04-01T10:00:00.000Z', 'Dave'],
        ['2026-04-02T09:59:59.999Z', 'Dave'],
        ['2026-04-02T10:00:00.000Z', 'Bob'],
      ];
      for (const [at, who] of onCall) expect(await whoIsOnCall(schedule.id, at), at).to.equal(who);
      expect(await shiftRows(schedule.id, '2026-03-31T00:00:00Z', '2026-04-03T00:00:00Z')).to.deep.equal([
        ['Bob', '2026-03-31T00:00:00.000Z', '2026-04-01T10:00:00.000Z'],
        ['Dave', '2026-04-01T10:00:00.000Z', '2026-04-02T10:00:00.000Z', true],
        ['Bob', '2026-04-02T10:00:00.000Z', '2026-04-03T00:00:00.000Z'],
      ]);
      const listed = await t.api.get<{ schedule_id: string; items: OverrideJson[] }>(`/schedules/${schedule.id}/overrides`);
      expect(listed.status, listed.text).to.equal(200);
      expect(listed.body).to.deep.equal({ schedule_id: schedule.id, items: [override] });

      const res = await del(t.api, `/schedules/${schedule.id}/overrides/${override.id}`);
      expect(res.status).to.equal(204);
      expect(res.text).to.equal('');
      for (const [at] of onCall) expect(await whoIsOnCall(schedule.id, at), at).to.equal('Bob');
      expect(await shiftRows(schedule.id, '2026-03-31T00:00:00Z', '2026-04-03T00:00:00Z')).to.deep.equal([
        ['Bob', '2026-03-31T00:00:00.000Z', '2026-04-03T00:00:00.000Z'],
      ]);
      expect((await t.api.get<{ items: OverrideJson[] }>(`/schedules/${schedule.id}/overrides`)).body.items).to.deep.equal([]);
      await expectRefused(t.pool, () => del(t.api, `/schedules/${schedule.id}/overrides/${override.id}`), 404, 'not_found');
    });

    it('an override across a hand-off is one overridden shift, and the rotation resumes with the next person', async () => {
      const schedule = await newSchedule();
      await addOverride(schedule.id, dave(), '2026-03-30T06:00:00Z', '2026-03-30T08:00:00Z');
      expect(await shiftRows(schedule.id, '2026-03-30T00:00:00Z', '2026-03-30T12:00:00Z')).to.deep.equal([
        ['Alice', '2026-03-30T00:00:00.000Z', '2026-03-30T06:00:00.000Z'],
        ['Dave', '2026-03-30T06:00:00.000Z', '2026-03-30T08:00:00.000Z', true],
        ['Bob', '2026-03-30T08:00:00.000Z', '2026-03-30T12:00:00.000Z'],
      ]);
    });

    it('when overrides overlap the one that starts later wins, whichever was added first', async () => {
      const schedule = await newSchedule();
      await addOverride(schedule.id, carol(), '2026-04-03T06:00:00Z', '2026-04-03T12:00:00Z');
      t.clock.advance(1000);
      await addOverride(schedule.id, dave(), '2026-04-03T00:00:00Z', '2026-04-04T00:00:00Z');
      expect(await whoIsOnCall(schedule.id, '2026-04-03T05:59:59.999Z')).to.equal('Dave');
      expect(await whoIsOnCall(schedule.id, '2026-04-03T06:00:00.000Z')).to.equal('Carol');
      expect(await whoIsOnCall(schedule.id, '2026-04-03T12:00:00.000Z')).to.equal('Dave');
      expect(await shiftRows(schedule.id, '2026-04-02T00:00:00Z', '2026-04-05T00:00:00Z')).to.deep.equal([
        ['Bob', '2026-04-02T00:00:00.000Z', '2026-04-03T00:00:00.000Z'],
        ['Dave', '2026-04-03T00:00:00.000Z', '2026-04-03T06:00:00.000Z', true],
        ['Carol', '2026-04-03T06:00:00.000Z', '2026-04-03T12:00:00.000Z', true],
        ['Dave', '2026-04-03T12:00:00.000Z', '2026-04-04T00:00:00.000Z', true],
        ['Bob', '2026-04-04T00:00:00.000Z', '2026-04-05T00:00:00.000Z'],
      ]);
    });

    it('GET /schedules/:id/overrides lists those overlapping [from, to), by default from now on, earliest first', async () => {
      const schedule = await newSchedule();
      const past = await addOverride(schedule.id, dave(), '2026-02-01T00:00:00Z', '2026-02-02T00:00:00Z');
      const late = await addOverride(schedule.id, carol(), '2026-05-01T00:00:00Z', '2026-05-02T00:00:00Z');
      const early = await addOverride(schedule.id, dave(), '2026-04-01T00:00:00Z', '2026-04-02T00:00:00Z');
      const list = async (query: string) => {
        const res = await t.api.get<{ items: OverrideJson[] }>(`/schedules/${schedule.id}/overrides${query}`);
        expect(res.status, res.text).to.equal(200);
        return res.body.items.map((o) => o.id);
      };
      expect(await list('')).to.deep.equal([early.id, late.id]);
      expect(await list('?from=2026-01-01T00:00:00Z')).to.deep.equal([past.id, early.id, late.id]);
      expect(await list('?from=2026-04-01T12:00:00Z&to=2026-05-01T00:00:00Z')).to.deep.equal([early.id]);
      expect(await list('?from=2026-04-02T00:00:00Z&to=2026-05-01T00:00:00Z')).to.deep.equal([]);
    });

    it('an override of one schedule cannot be deleted through another: 404, and it stays', async () => {
      const owner = await newSchedule();
      const other = await newSchedule();
      const override = await addOverride(owner.id, dave(), '2026-04-01T00:00:00Z', '2026-04-02T00:00:00Z');
      const problem = await expectRefused(t.pool, () => del(t.api, `/schedules/${other.id}/overrides/${override.id}`), 404, 'not_found');
      expect(problem.detail).to.equal(`override ${override.id} does not exist`);
      expect(await whoIsOnCall(owner.id, '2026-04-01T12:00:00Z')).to.equal('Dave');
    });
  });

  describe('refused schedules: the problem names the field and rule, and nothing stored changes', () => {
    type Mutation = (body: ReturnType<typeof validBody>) => unknown;
    const withRotation =
      (changes: Record<string, unknown>): Mutation =>
      (b) => ({ ...b, rotation: { ...b.rotation, ...changes } });
    const without =
      (field: keyof RotationJson): Mutation =>
      (b) => {
        const rotation: Partial<RotationJson> = { ...b.rotation };
        delete rotation[field];
        return { ...b, rotation };
      };
    const cases: [name: string, mutate: Mutation, status: number, field: string, rule: string, mentions?: string][] = [
      ['no name', (b) => ({ rotation: b.rotation }), 400, 'name', 'required'],
      ['a blank name', (b) => ({ ...b, name: '   ' }), 400, 'name', 'pattern'],
      ['no rotation', (b) => ({ name: b.name }), 400, 'rotation', 'required'],
      ['no user_ids', without('user_ids'), 400, 'rotation.user_ids', 'required'],
      ['no shift_length', without('shift_length'), 400, 'rotation.shift_length', 'required'],
      ['no shift_unit', without('shift_unit'), 400, 'rotation.shift_unit', 'required'],
      ['no handoff_time', without('handoff_time'), 400, 'rotation.handoff_time', 'required'],
      ['no time_zone', without('time_zone'), 400, 'rotation.time_zone', 'required'],
      ['no start_date', without('start_date'), 400, 'rotation.start_date', 'required'],
      ['an unknown field', (b) => ({ ...b, layers: [] }), 400, 'layers', 'additionalProperties'],
      ['an unknown rotation field', withRotation({ restrictions: [] }), 400, 'rotation.restrictions', 'additionalProperties'],
      ['time zone "Mars/Olympus"', withRotation({ time_zone: 'Mars/Olympus' }), 400, 'rotation.time_zone', 'format', 'IANA'],
      ['an offset for a time zone ("+01:00")', withRotation({ time_zone: '+01:00' }), 400, 'rotation.time_zone', 'format', 'IANA'],
      ['hand-off time "25:00"', withRotation({ handoff_time: '25:00' }), 400, 'rotation.handoff_time', 'pattern'],
      ['hand-off time "9:00" (not HH:MM)', withRotation({ handoff_time: '9:00' }), 400, 'rotation.handoff_time', 'pattern'],
      ['hand-off time "09:60"', withRotation({ handoff_time: '09:60' }), 400, 'rotation.handoff_time', 'pattern'],
      ['shift_length 0', withRotation({ shift_length: 0 }), 400, 'rotation.shift_length', 'minimum'],
      ['shift_length 1.5', withRotation({ shift_length: 1.5 }), 400, 'rotation.shift_length', 'type'],
      ['shift_length "1"', withRotation({ shift_length: '1' }), 400, 'rotation.shift_length', 'type'],
      ['more than a year of days (366)', withRotation({ shift_unit: 'days', shift_length: 366 }), 400, 'rotation', 'rotation', 'from 1 to 365'],
      ['more than a year of weeks (53)', withRotation({ shift_length: 53 }), 400, 'rotation', 'rotation', 'from 1 to 52'],
      ['shift_unit "months"', withRotation({ shift_unit: 'months' }), 400, 'rotation.shift_unit', 'enum'],
      ['start_date "2026-02-30"', withRotation({ start_date: '2026-02-30' }), 400, 'rotation.start_date', 'format', 'calendar date'],
      ['start_date "2026-3-2"', withRotation({ start_date: '2026-3-2' }), 400, 'rotation.start_date', 'format'],
      ['start_date with a time', withRotation({ start_date: '2026-03-02T09:00:00Z' }), 400, 'rotation.start_date', 'format'],
      ['empty user_ids', withRotation({ user_ids: [] }), 400, 'rotation.user_ids', 'minItems'],
      ['a malformed user id', withRotation({ user_ids: ['alice'] }), 400, 'rotation.user_ids.0', 'format'],
      ['an unknown user id', (b) => ({ ...b, rotation: { ...b.rotation, user_ids: [alice(), UNKNOWN_ID] } }), 422, 'rotation.user_ids', 'exists', UNKNOWN_ID],
    ];
    const codeFor = (status: number) => (status === 422 ? 'reference_not_found' : 'validation_failed');

    for (const [name, mutate, status, field, rule, mentions] of cases) {
      it(`POST with ${name}: ${status} naming ${field} (${rule})`, async () => {
        const problem = await expectRefused(t.pool, () => t.api.post('/schedules', mutate(validBody())), status, codeFor(status), { field, rule });
        if (mentions) expect(problem.detail).to.include(mentions);
      });
    }
    for (const [name, mutate, status, field, rule, mentions] of cases) {
      it(`PUT with ${name}: ${status} naming ${field} (${rule}); the schedule is unchanged`, async () => {
        const { id } = await newSchedule();
        const problem = await expectRefused(t.pool, () => put(`/schedules/${id}`, mutate(validBody())), status, codeFor(status), { field, rule });
        if (mentions) expect(problem.detail).to.include(mentions);
      });
    }

    it('POST and PUT without a body: 400 naming (body)', async () => {
      const { id } = await newSchedule();
      for (const [method, path] of [
        ['POST', '/schedules'],
        ['PUT', `/schedules/${id}`],
      ] as const) {
        await expectRefused(t.pool, () => t.api.raw(method, path, {}), 400, 'validation_failed', { field: '(body)', rule: 'required' });
      }
    });
  });

  describe('refused overrides: the problem names the field and rule, and nothing stored changes', () => {
    const valid = () => ({ user_id: dave(), start: '2026-04-01T10:00:00Z', end: '2026-04-02T10:00:00Z' });
    const cases: [name: string, body: () => Json, status: number, field: string, rule: string][] = [
      ['end before start', () => ({ ...valid(), end: '2026-04-01T09:00:00Z' }), 400, 'end', 'range'],
      ['end equal to start', () => ({ ...valid(), end: '2026-04-01T10:00:00Z' }), 400, 'end', 'range'],
      ['end equal to start, written in another offset', () => ({ ...valid(), end: '2026-04-01T12:00:00+02:00' }), 400, 'end', 'range'],
      ['an unknown user', () => ({ ...valid(), user_id: UNKNOWN_ID }), 422, 'user_id', 'exists'],
      ['a malformed user id', () => ({ ...valid(), user_id: 'dave' }), 400, 'user_id', 'format'],
      ['a start that is not an instant', () => ({ ...valid(), start: 'tomorrow' }), 400, 'start', 'format'],
      ['a start without an offset', () => ({ ...valid(), start: '2026-04-01T10:00:00' }), 400, 'start', 'format'],
      ['a start as a number', () => ({ ...valid(), start: Date.parse('2026-04-01T10:00:00Z') }), 400, 'start', 'type'],
      ['no end', () => ({ user_id: dave(), start: '2026-04-01T10:00:00Z' }), 400, 'end', 'required'],
      ['no user_id', () => ({ start: '2026-04-01T10:00:00Z', end: '2026-04-02T10:00:00Z' }), 400, 'user_id', 'required'],
      ['an unknown field', () => ({ ...valid(), reason: 'vacation' }), 400, 'reason', 'additionalProperties'],
    ];
    let id: string;
    before(async () => {
      id = (await newSchedule()).id;
    });
    for (const [name, body, status, field, rule] of cases) {
      it(`an override with ${name}: ${status} naming ${field} (${rule})`, async () => {
        await expectRefused(
          t.pool,
          () => t.api.post(`/schedules/${id}/overrides`, body()),
          status,
          status === 422 ? 'reference_not_found' : 'validation_failed',
          { field, rule },
        );
        expect(await whoIsOnCall(id, '2026-04-01T12:00:00Z')).to.equal('Bob');
      });
    }
  });

  describe('refused queries: 400 naming the parameter', () => {
    let id: string;
    before(async () => {
      id = (await newSchedule()).id;
    });
    const cases: [route: string, query: string, field: string, rule: string][] = [
      ['on-call', 'at=yesterday', 'at', 'format'],
      ['on-call', 'at=2026-03-30', 'at', 'format'],
      ['on-call', 'at=2026-03-30T09:00:00', 'at', 'format'],
      ['on-call', 'at=1774857600000', 'at', 'format'],
      ['on-call', 'at=', 'at', 'format'],
      ['on-call', 'at=2026-03-30T07:00:00Z&at=2026-03-30T08:00:00Z', 'at', 'maxItems'],
      ['on-call', 'when=2026-03-30T07:00:00Z', 'when', 'additionalProperties'],
      ['shifts', 'from=2026-03-30T07:00:00Z', 'to', 'required'],
      ['shifts', 'to=2026-03-30T07:00:00Z', 'from', 'required'],
      ['shifts', 'from=last%20week&to=2026-03-30T07:00:00Z', 'from', 'format'],
      ['shifts', 'from=2026-03-30T07:00:00Z&to=2026-04-30', 'to', 'format'],
      ['shifts', 'from=2026-03-30T07:00:00Z&to=2026-04-30T07:00:00Z&limit=5', 'limit', 'additionalProperties'],
      ['overrides', 'from=soon', 'from', 'format'],
      ['overrides', 'to=2026-04-30', 'to', 'format'],
    ];
    for (const [route, query, field, rule] of cases) {
      it(`GET /schedules/:id/${route}?${query}: 400 naming ${field} (${rule})`, async () => {
        await expectRefused(t.pool, () => t.api.get(`/schedules/${id}/${route}?${query}`), 400, 'validation_failed', { field, rule });
      });
    }
  });

  describe('unknown and malformed ids', () => {
    const VALID_OVERRIDE = { start: '2026-04-01T10:00:00Z', end: '2026-04-02T10:00:00Z' };
    /** Every route under /schedules/:id, as [title, send]. */
    const routes = (scheduleId: string, overrideId = UNKNOWN_ID): [string, () => Promise<ApiResponse<unknown>>][] => [
      ['GET /schedules/:id', () => t.api.get(`/schedules/${scheduleId}`)],
      ['PUT /schedules/:id', () => put(`/schedules/${scheduleId}`, validBody())],
      ['DELETE /schedules/:id', () => del(t.api, `/schedules/${scheduleId}`)],
      ['GET /schedules/:id/on-call', () => t.api.get(`/schedules/${scheduleId}/on-call?at=2026-04-01T00:00:00Z`)],
      ['GET /schedules/:id/on-call (no at)', () => t.api.get(`/schedules/${scheduleId}/on-call`)],
      ['GET /schedules/:id/shifts', () => t.api.get(`/schedules/${scheduleId}/shifts?from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z`)],
      ['POST /schedules/:id/overrides', () => t.api.post(`/schedules/${scheduleId}/overrides`, { user_id: dave(), ...VALID_OVERRIDE })],
      ['GET /schedules/:id/overrides', () => t.api.get(`/schedules/${scheduleId}/overrides`)],
      ['DELETE /schedules/:id/overrides/:overrideId', () => del(t.api, `/schedules/${scheduleId}/overrides/${overrideId}`)],
    ];

    it('an unknown schedule id is 404 not_found on every route, naming the schedule', async () => {
      for (const [route, send] of routes(UNKNOWN_ID)) {
        const problem = await expectRefused(t.pool, send, 404, 'not_found');
        expect(problem.detail, route).to.equal(`schedule ${UNKNOWN_ID} does not exist`);
      }
    });

    it('an unknown override id of a known schedule is 404 not_found', async () => {
      const { id } = await newSchedule();
      const problem = await expectRefused(t.pool, () => del(t.api, `/schedules/${id}/overrides/${UNKNOWN_ID}`), 404, 'not_found');
      expect(problem.detail).to.equal(`override ${UNKNOWN_ID} does not exist`);
    });

    for (const badId of ['123', 'not-a-uuid', '00000000-0000-4000-8000-00000000000g', "1' OR '1'='1"]) {
      it(`a malformed schedule id (${JSON.stringify(badId)}) is 400 naming id on every route, not 404 or 500`, async () => {
        for (const [route, send] of routes(encodeURIComponent(badId))) {
          const problem = await expectRefused(t.pool, send, 400, 'validation_failed', { field: 'id', rule: 'format' });
          expect(problem.errors, route).to.have.length(1);
        }
      });
    }

    it('a malformed override id is 400 naming overrideId', async () => {
      const { id } = await newSchedule();
      await expectRefused(t.pool, () => del(t.api, `/schedules/${id}/overrides/not-a-uuid`), 400, 'validation_failed', { field: 'overrideId', rule: 'format' });
    });
  });

  describe('a schedule an escalation policy pages', () => {
    it('cannot be deleted: 409 in_use naming the policy, once however many levels page it; after the policy goes, it can', async () => {
      const schedule = await newSchedule({}, 'Checkout primary');
      const policy = await t.api.post<{ id: string }>('/escalation-policies', {
        name: 'Checkout escalation',
        levels: [
          { delay: '5m', targets: [{ type: 'schedule', id: schedule.id }] },
          {
            delay: '15m',
            targets: [
              { type: 'schedule', id: schedule.id },
              { type: 'user', id: dave() },
            ],
          },
        ],
      });
      expect(policy.status, policy.text).to.equal(201);
      const problem = await expectRefused(t.pool, () => del(t.api, `/schedules/${schedule.id}`), 409, 'in_use');
      expect(problem.used_by).to.deep.equal([{ kind: 'escalation policy', id: policy.body.id, name: 'Checkout escalation' }]);
      expect(problem.detail).to.include('escalation policy "Checkout escalation"');

      // Editing it stays allowed: the policy pages whoever the new rotation puts on call.
      const edited = await put(`/schedules/${schedule.id}`, validBody({ user_ids: [dave()] }, 'Checkout primary'));
      expect(edited.status, edited.text).to.equal(200);

      expect((await del(t.api, `/escalation-policies/${policy.body.id}`)).status).to.equal(204);
      expect((await del(t.api, `/schedules/${schedule.id}`)).status).to.equal(204);
    });
  });

  describe('edge cases found by testing (each was a bug)', () => {
    // The cursor's key must be Postgres' lower(name), not JavaScript's toLowerCase():
    // they differ outside ASCII under the "C" collation (lower('É') = 'É'), and a
    // JavaScript key silently skipped every 'É…' name on the next page.
    it('pages through names outside ASCII without skipping any', async () => {
      const ids: string[] = [];
      for (const name of ['Émile 1', 'Émile 2', 'Émile 3']) ids.push((await newSchedule({}, name)).id);
      const all = await allPages(t.api, '/schedules', 200);
      const paged = await allPages(t.api, '/schedules', 1);
      expect(paged.items.map((s) => s.id)).to.deep.equal(all.items.map((s) => s.id)); // today: Émile 2 and 3 are missing
      expect(paged.items.map((s) => s.id)).to.include.members(ids);
    });

    // A pattern checks only the shape: an impossible instant (month 13, minute 60)
    // became an Invalid Date and a 500.
    const impossible: [title: string, send: (id: string) => Promise<ApiResponse<unknown>>, field: string][] = [
      ['GET on-call?at=2026-13-01T00:00Z', (id) => t.api.get(`/schedules/${id}/on-call?at=2026-13-01T00:00Z`), 'at'],
      ['GET shifts?from=2026-13-01T00:00Z', (id) => t.api.get(`/schedules/${id}/shifts?from=2026-13-01T00:00Z&to=2027-01-01T00:00Z`), 'from'],
      ['GET overrides?to=2026-04-01T09:60Z', (id) => t.api.get(`/schedules/${id}/overrides?to=2026-04-01T09:60Z`), 'to'],
      [
        'POST overrides with start 2026-13-01T00:00Z',
        (id) => t.api.post(`/schedules/${id}/overrides`, { user_id: dave(), start: '2026-13-01T00:00Z', end: '2027-01-01T00:00Z' }),
        'start',
      ],
    ];
    for (const [title, send, field] of impossible) {
      it(`${title}: 400 naming ${field}, not 500`, async () => {
        const { id } = await newSchedule();
        const problem = await expectRefused(t.pool, () => send(id), 400, 'validation_failed');
        expect(problem.errors?.map((e) => e.field)).to.include(field);
      });
    }

    // JavaScript's Date rolls February 30 over to March 2; start_date "2026-02-30" is
    // refused, so instants are too.
    it('GET on-call?at=2026-02-30T00:00Z is 400 naming at, not an answer for March 2', async () => {
      const { id } = await newSchedule();
      await expectRefused(t.pool, () => t.api.get(`/schedules/${id}/on-call?at=2026-02-30T00:00Z`), 400, 'validation_failed', { field: 'at', rule: 'format' });
    });

    // luxon accepts the year 0000, Postgres' date type has no year 0.
    it('start_date "0000-01-01" is 400 naming the start date, not 500', async () => {
      await expectRefused(t.pool, () => t.api.post('/schedules', validBody({ start_date: '0000-01-01' })), 400, 'validation_failed', {
        field: 'rotation.start_date',
        rule: 'format',
      });
    });
  });
});
