import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import {
  type BodyCase,
  type Json,
  created,
  del,
  describeListing,
  expectRefused,
  insertOverride,
  insertPolicy,
  insertSchedule,
  itKeepsUnique,
  itRefusesBadBodies,
  itRefusesUnknownAndMalformedIds,
  patch,
} from '../support/people.ts';

describe('users API', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  let serial = 0;
  /** A user with a fresh email. */
  const newUser = (fields: Json = {}) => {
    serial += 1;
    return created(t.api, '/users', { name: `User ${serial}`, email: `user${serial}@example.com`, ...fields });
  };

  describe('create, read, edit, delete', () => {
    it('POST /users answers 201 with the user and its Location; time_zone defaults to UTC, phone to null', async () => {
      const res = await t.api.post('/users', { name: 'Ada Lovelace', email: 'Ada@Example.com' });
      expect(res.status).to.equal(201);
      expect(res.headers.get('location')).to.equal(`/users/${String(res.body.id)}`);
      expect(res.body).to.deep.equal({
        id: res.body.id,
        name: 'Ada Lovelace',
        email: 'Ada@Example.com',
        phone: null,
        time_zone: 'UTC',
        notify_on_acknowledged: true,
        notify_on_resolved: true,
        created_at: '2026-03-01T09:00:00.000Z',
        updated_at: '2026-03-01T09:00:00.000Z',
      });
      expect(String(res.body.id)).to.match(/^[0-9a-f-]{36}$/);
    });

    it('stores a phone and a time zone; a zone is stored under its canonical IANA name', async () => {
      const berlin = await newUser({ phone: '+4915112345678', time_zone: 'Europe/Berlin' });
      expect(berlin).to.include({ phone: '+4915112345678', time_zone: 'Europe/Berlin' });
      const lowerCase = await newUser({ time_zone: 'america/new_york' });
      expect(lowerCase.time_zone).to.equal('America/New_York');
      const row = await t.pool.query('SELECT phone, time_zone FROM users WHERE id = $1', [berlin.id]);
      expect(row.rows[0]).to.deep.equal({ phone: '+4915112345678', time_zone: 'Europe/Berlin' });
    });

    it('GET /users/:id returns the user', async () => {
      const user = await newUser({ phone: '+14155550123' });
      const res = await t.api.get(`/users/${user.id}`);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(user);
    });

    it('PATCH /users/:id changes only the fields given and stamps updated_at', async () => {
      const user = await newUser({ phone: '+14155550123', time_zone: 'Europe/Paris' });
      t.clock.advance(60_000);
      const res = await patch(t.api, `/users/${user.id}`, { name: 'Renamed', time_zone: 'Asia/Tokyo' });
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.deep.equal({
        ...user,
        name: 'Renamed',
        time_zone: 'Asia/Tokyo',
        updated_at: t.clock.now().toISOString(),
      });
      expect((await t.api.get(`/users/${user.id}`)).body).to.deep.equal(res.body);
    });

    it('PATCH with phone: null clears the phone; a new email is accepted', async () => {
      const user = await newUser({ phone: '+14155550123' });
      const res = await patch(t.api, `/users/${user.id}`, { phone: null, email: 'new.address@example.org' });
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.include({ phone: null, email: 'new.address@example.org', name: user.name });
    });

    it('DELETE /users/:id answers 204, and the user is gone', async () => {
      const user = await newUser();
      const res = await del(t.api, `/users/${user.id}`);
      expect(res.status).to.equal(204);
      expect(res.text).to.equal('');
      expect((await t.api.get(`/users/${user.id}`)).status).to.equal(404);
      expect((await t.pool.query('SELECT 1 FROM users WHERE id = $1', [user.id])).rowCount).to.equal(0);
    });

    itRefusesUnknownAndMalformedIds('/users', 'user', () => t);
  });

  itKeepsUnique(
    '/users',
    'email',
    () => t,
    (email) => ({ name: 'Someone', email }),
    (word) => `${word}@example.com`,
  );

  // Two users may share a name: the id breaks the tie.
  describeListing(
    '/users',
    () => t,
    ['bob', 'Alice', 'carol', 'Bob', 'alice', 'Dave', 'eve'],
    (name) => newUser({ name }),
  );

  describe('bad bodies: 400 naming the field and rule, nothing stored', () => {
    const createCases: BodyCase[] = [
      ['no name', { email: 'a@example.com' }, 'name', 'required'],
      ['no email', { name: 'A' }, 'email', 'required'],
      ['a numeric name', { name: 7, email: 'a@example.com' }, 'name', 'type'],
      ['a null name', { name: null, email: 'a@example.com' }, 'name', 'type'],
      ['an empty name', { name: '', email: 'a@example.com' }, 'name', 'minLength'],
      ['a blank name', { name: '   ', email: 'a@example.com' }, 'name', 'pattern'],
      ['a name over 200 characters', { name: 'n'.repeat(201), email: 'a@example.com' }, 'name', 'maxLength'],
      ['an email over 320 characters', { name: 'A', email: `${'a'.repeat(310)}@example.com` }, 'email', 'maxLength'],
      ['an email of 2 characters', { name: 'A', email: 'a@' }, 'email', 'minLength'],
      ['an email without @', { name: 'A', email: 'ada.example.com' }, 'email', 'format'],
      ['an email without a domain', { name: 'A', email: 'ada@' }, 'email', 'format'],
      ['an email without a dot in the domain', { name: 'A', email: 'ada@localhost' }, 'email', 'format'],
      ['an email with two @', { name: 'A', email: 'ada@@example.com' }, 'email', 'format'],
      ['an email with a blank', { name: 'A', email: 'ada lovelace@example.com' }, 'email', 'format'],
      ['an email as a number', { name: 'A', email: 42 }, 'email', 'type'],
      ['a phone without +', { name: 'A', email: 'a@example.com', phone: '4915112345678' }, 'phone', 'format'],
      ['a phone with blanks', { name: 'A', email: 'a@example.com', phone: '+49 151 12345678' }, 'phone', 'format'],
      ['a phone with a leading 0', { name: 'A', email: 'a@example.com', phone: '+015112345678' }, 'phone', 'format'],
      ['a phone too short', { name: 'A', email: 'a@example.com', phone: '+49151' }, 'phone', 'format'],
      ['a phone too long', { name: 'A', email: 'a@example.com', phone: '+4915112345678901' }, 'phone', 'format'],
      ['a phone as a number', { name: 'A', email: 'a@example.com', phone: 4915112345678 }, 'phone', 'type'],
      ['an unknown time zone', { name: 'A', email: 'a@example.com', time_zone: 'Mars/Olympus_Mons' }, 'time_zone', 'format'],
      ['a UTC offset as time zone', { name: 'A', email: 'a@example.com', time_zone: '+01:00' }, 'time_zone', 'format'],
      ['an empty time zone', { name: 'A', email: 'a@example.com', time_zone: '' }, 'time_zone', 'minLength'],
      ['a null time zone', { name: 'A', email: 'a@example.com', time_zone: null }, 'time_zone', 'type'],
      ['an unknown field', { name: 'A', email: 'a@example.com', nickname: 'a' }, 'nickname', 'additionalProperties'],
      ['an array body', [{ name: 'A', email: 'a@example.com' }], '(body)', 'type'],
      ['a string body', 'Ada', '(body)', 'type'],
    ];

    const editCases: BodyCase[] = [
      ['an empty object', {}, '(body)', 'minProperties'],
      ['an unknown field', { nickname: 'x' }, 'nickname', 'additionalProperties'],
      ['a null name', { name: null }, 'name', 'type'],
      ['a null email', { email: null }, 'email', 'type'],
      ['a bad email', { email: 'not-an-email' }, 'email', 'format'],
      ['a bad phone', { phone: '+49-151-123' }, 'phone', 'format'],
      ['a bad time zone', { time_zone: 'Europe/Atlantis' }, 'time_zone', 'format'],
      ['a name over 200 characters', { name: 'n'.repeat(201) }, 'name', 'maxLength'],
    ];
    itRefusesBadBodies('/users', () => t, { create: createCases, edit: editCases }, newUser);

    it('reports every broken rule at once, the formats with a message that says what is expected', async () => {
      const problem = await expectRefused(
        t.pool,
        () => t.api.post('/users', { email: 'nope', phone: '0151', time_zone: 'Nowhere/City', extra: true }),
        400,
        'validation_failed',
      );
      expect(problem.errors?.map((e) => `${e.field}:${e.rule}`)).to.have.members([
        'name:required',
        'extra:additionalProperties',
        'email:format',
        'phone:format',
        'time_zone:format',
      ]);
      expect(problem.errors?.find((e) => e.field === 'phone')?.message).to.include('+4915112345678');
      expect(problem.errors?.find((e) => e.field === 'time_zone')?.message).to.include('IANA');
    });
  });

  describe('delete while in use', () => {
    it('deleting a user takes them out of their teams, keeping the others in order', async () => {
      const [a, b, c] = [await newUser(), await newUser(), await newUser()];
      const team = await created(t.api, '/teams', { name: 'Deletion crew', member_ids: [a.id, b.id, c.id] });
      expect((await del(t.api, `/users/${b.id}`)).status).to.equal(204);
      const res = await t.api.get<{ members: Json[] }>(`/teams/${team.id}`);
      expect(res.body.members.map((member) => member.id)).to.deep.equal([a.id, c.id]);
      expect((await t.pool.query('SELECT 1 FROM team_members WHERE user_id = $1', [b.id])).rowCount).to.equal(0);
    });

    it('a user in a schedule rotation: 409 in_use naming the schedule', async () => {
      const user = await newUser();
      const scheduleId = await insertSchedule(t.pool, 'Primary on-call', [user.id]);
      const problem = await expectRefused(t.pool, () => del(t.api, `/users/${user.id}`), 409, 'in_use');
      expect(problem.detail).to.equal('this user is still used by schedule "Primary on-call"; change or remove those first');
      expect(problem.used_by).to.deep.equal([{ kind: 'schedule', id: scheduleId, name: 'Primary on-call' }]);
    });

    it('a user in a schedule override: 409 in_use naming the schedule', async () => {
      const user = await newUser();
      const other = await newUser();
      const scheduleId = await insertSchedule(t.pool, 'Weekend cover', [other.id]);
      await insertOverride(t.pool, scheduleId, user.id);
      const problem = await expectRefused(t.pool, () => del(t.api, `/users/${user.id}`), 409, 'in_use');
      expect(problem.used_by).to.deep.equal([{ kind: 'override in schedule', id: scheduleId, name: 'Weekend cover' }]);
      expect(problem.detail).to.include('override in schedule "Weekend cover"');
    });

    it('a user an escalation policy targets: 409 in_use naming the policy', async () => {
      const user = await newUser();
      const policyId = await insertPolicy(t.pool, 'Checkout escalation', [{ type: 'user', id: user.id }]);
      const problem = await expectRefused(t.pool, () => del(t.api, `/users/${user.id}`), 409, 'in_use');
      expect(problem.used_by).to.deep.equal([{ kind: 'escalation policy', id: policyId, name: 'Checkout escalation' }]);
      expect(problem.title).to.equal('Still in use');
    });

    it('a user used in several places: every one is named, each once', async () => {
      const user = await newUser();
      const first = await insertSchedule(t.pool, 'Alpha rotation', [user.id, user.id]);
      const second = await insertSchedule(t.pool, 'beta rotation', [user.id]);
      await insertOverride(t.pool, second, user.id);
      const policy = await insertPolicy(t.pool, 'Paging policy', [{ type: 'user', id: user.id }]);
      const problem = await expectRefused(t.pool, () => del(t.api, `/users/${user.id}`), 409, 'in_use');
      expect(problem.used_by).to.deep.equal([
        { kind: 'schedule', id: first, name: 'Alpha rotation' },
        { kind: 'schedule', id: second, name: 'beta rotation' },
        { kind: 'override in schedule', id: second, name: 'beta rotation' },
        { kind: 'escalation policy', id: policy, name: 'Paging policy' },
      ]);
    });

    it('once the references are gone, the user can be deleted', async () => {
      const user = await newUser();
      const scheduleId = await insertSchedule(t.pool, 'Short-lived', [user.id]);
      expect((await del(t.api, `/users/${user.id}`)).status).to.equal(409);
      await t.pool.query('DELETE FROM schedules WHERE id = $1', [scheduleId]);
      expect((await del(t.api, `/users/${user.id}`)).status).to.equal(204);
    });
  });
});
