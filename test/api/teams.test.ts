import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import {
  type BodyCase,
  type Json,
  UNKNOWN_ID,
  created,
  del,
  describeListing,
  expectRefused,
  insertPolicy,
  itKeepsUnique,
  itRefusesBadBodies,
  itRefusesUnknownAndMalformedIds,
  patch,
} from '../support/people.ts';

type Team = Json & { id: string; members: { id: string; name: string; email: string }[] };

describe('teams API', () => {
  let t: TestContext;
  let users: { id: string; name: string; email: string }[];
  before(async () => {
    t = await createTestContext();
    users = [];
    for (const name of ['Ada', 'Grace', 'Linus', 'Margaret']) {
      const user = await created(t.api, '/users', { name, email: `${name.toLowerCase()}@example.com` });
      users.push({ id: user.id, name, email: String(user.email) });
    }
  });
  after(() => t.close());

  let serial = 0;
  const newTeam = async (fields: Json = {}) => {
    serial += 1;
    return (await created(t.api, '/teams', { name: `Team ${serial}`, ...fields })) as Team;
  };
  const ids = (...indexes: number[]) => indexes.map((index) => String(users[index]?.id));

  describe('create, read, edit, delete', () => {
    it('POST /teams answers 201 with the team, its members in the order given, and its Location', async () => {
      const res = await t.api.post<Team>('/teams', { name: 'Payments', member_ids: ids(2, 0, 3) });
      expect(res.status, res.text).to.equal(201);
      expect(res.headers.get('location')).to.equal(`/teams/${res.body.id}`);
      expect(res.body).to.deep.equal({
        id: res.body.id,
        name: 'Payments',
        members: [users[2], users[0], users[3]],
        created_at: '2026-03-01T09:00:00.000Z',
        updated_at: '2026-03-01T09:00:00.000Z',
      });
    });

    it('a team may start with no members; member ids are accepted in any letter case', async () => {
      expect((await newTeam()).members).to.deep.equal([]);
      const upper = await newTeam({ member_ids: ids(1).map((id) => id.toUpperCase()) });
      expect(upper.members).to.deep.equal([users[1]]);
    });

    it('GET /teams/:id returns the team with its members in order', async () => {
      const team = await newTeam({ member_ids: ids(3, 1) });
      const res = await t.api.get(`/teams/${team.id}`);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(team);
    });

    it('PATCH with only a name renames the team and keeps its members', async () => {
      const team = await newTeam({ member_ids: ids(0, 1) });
      t.clock.advance(30_000);
      const res = await patch<Team>(t.api, `/teams/${team.id}`, { name: 'Renamed team' });
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.deep.equal({ ...team, name: 'Renamed team', updated_at: t.clock.now().toISOString() });
    });

    it('PATCH with member_ids replaces the member list, in the new order', async () => {
      const team = await newTeam({ member_ids: ids(0, 1, 2) });
      t.clock.advance(30_000);
      const res = await patch<Team>(t.api, `/teams/${team.id}`, { member_ids: ids(3, 1) });
      expect(res.status, res.text).to.equal(200);
      expect(res.body.members).to.deep.equal([users[3], users[1]]);
      expect(res.body).to.include({ name: team.name, updated_at: t.clock.now().toISOString(), created_at: team.created_at });
      const rows = await t.pool.query('SELECT user_id, position FROM team_members WHERE team_id = $1 ORDER BY position', [team.id]);
      expect(rows.rows).to.deep.equal([
        { user_id: users[3]?.id, position: 0 },
        { user_id: users[1]?.id, position: 1 },
      ]);
    });

    it('PATCH with member_ids [] empties the team', async () => {
      const team = await newTeam({ member_ids: ids(0) });
      const res = await patch<Team>(t.api, `/teams/${team.id}`, { member_ids: [] });
      expect(res.body.members).to.deep.equal([]);
    });

    it('DELETE /teams/:id answers 204; its member list goes, its users stay', async () => {
      const team = await newTeam({ member_ids: ids(0, 1) });
      expect((await del(t.api, `/teams/${team.id}`)).status).to.equal(204);
      expect((await t.api.get(`/teams/${team.id}`)).status).to.equal(404);
      expect((await t.pool.query('SELECT 1 FROM team_members WHERE team_id = $1', [team.id])).rowCount).to.equal(0);
      expect((await t.api.get(`/users/${ids(0)[0]}`)).status).to.equal(200);
    });

    itRefusesUnknownAndMalformedIds('/teams', 'team', () => t);
  });

  describe('unique names and known members', () => {
    itKeepsUnique(
      '/teams',
      'name',
      () => t,
      (name) => ({ name }),
      (word) => word,
    );

    it('POST with unknown member ids: 422 reference_not_found naming each missing id', async () => {
      const missing = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
      const problem = await expectRefused(
        t.pool,
        () => t.api.post('/teams', { name: 'Ghosts', member_ids: [missing[0], ...ids(0), missing[1]] }),
        422,
        'reference_not_found',
      );
      expect(problem.errors).to.deep.equal([
        { field: 'member_ids.0', rule: 'exists', message: `no user with id ${missing[0]}` },
        { field: 'member_ids.2', rule: 'exists', message: `no user with id ${missing[1]}` },
      ]);
      expect(problem.detail).to.include(String(missing[0])).and.include(String(missing[1]));
    });

    it('PATCH with unknown member ids: 422 reference_not_found, the old member list stays', async () => {
      const team = await newTeam({ member_ids: ids(0) });
      const problem = await expectRefused(t.pool, () => patch(t.api, `/teams/${team.id}`, { member_ids: [...ids(1), UNKNOWN_ID] }), 422, 'reference_not_found');
      expect(problem.errors).to.deep.equal([{ field: 'member_ids.1', rule: 'exists', message: `no user with id ${UNKNOWN_ID}` }]);
    });

    it('a team an escalation policy targets cannot be deleted: 409 in_use naming the policy', async () => {
      const team = await newTeam();
      const policyId = await insertPolicy(t.pool, 'Team paging', [{ type: 'team', id: team.id }]);
      const problem = await expectRefused(t.pool, () => del(t.api, `/teams/${team.id}`), 409, 'in_use');
      expect(problem.used_by).to.deep.equal([{ kind: 'escalation policy', id: policyId, name: 'Team paging' }]);
      expect(problem.detail).to.equal('this team is still used by escalation policy "Team paging"; change or remove those first');
    });
  });

  describeListing(
    '/teams',
    () => t,
    ['delta', 'Alpha', 'charlie', 'Bravo', 'echo', 'Foxtrot', 'golf'],
    (name) => newTeam({ name, member_ids: ids(0) }),
  );

  it('a listed team carries its members, in order', async () => {
    const team = await newTeam({ member_ids: ids(3, 0) });
    const res = await t.api.get<{ items: Team[] }>('/teams?limit=200');
    expect(res.body.items.find((item) => item.id === team.id)?.members).to.deep.equal([users[3], users[0]]);
  });

  describe('bad bodies: 400 naming the field and rule, nothing stored', () => {
    const createCases: BodyCase[] = [
      ['no name', { member_ids: [] }, 'name', 'required'],
      ['a numeric name', { name: 1 }, 'name', 'type'],
      ['an empty name', { name: '' }, 'name', 'minLength'],
      ['a blank name', { name: ' \t ' }, 'name', 'pattern'],
      ['a name over 200 characters', { name: 't'.repeat(201) }, 'name', 'maxLength'],
      ['member_ids as a string', { name: 'T', member_ids: UNKNOWN_ID }, 'member_ids', 'type'],
      ['member_ids null', { name: 'T', member_ids: null }, 'member_ids', 'type'],
      ['a numeric member id', { name: 'T', member_ids: [7] }, 'member_ids.0', 'type'],
      ['a member id that is not a UUID', { name: 'T', member_ids: [UNKNOWN_ID, 'bob'] }, 'member_ids.1', 'format'],
      ['the same member twice', { name: 'T', member_ids: [UNKNOWN_ID, UNKNOWN_ID] }, 'member_ids', 'uniqueItems'],
      [
        'the same member twice in other letter case',
        { name: 'T', member_ids: ['aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA'] },
        'member_ids',
        'uniqueItems',
      ],
      [
        'more than 500 members',
        { name: 'T', member_ids: Array.from({ length: 501 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`) },
        'member_ids',
        'maxItems',
      ],
      ['an unknown field', { name: 'T', members: [] }, 'members', 'additionalProperties'],
      ['an array body', [{ name: 'T' }], '(body)', 'type'],
    ];

    const editCases: BodyCase[] = [
      ['an empty object', {}, '(body)', 'minProperties'],
      ['a null name', { name: null }, 'name', 'type'],
      ['a member id that is not a UUID', { member_ids: ['x'] }, 'member_ids.0', 'format'],
      ['an unknown field', { description: 'x' }, 'description', 'additionalProperties'],
    ];
    itRefusesBadBodies(
      '/teams',
      () => t,
      { create: createCases, edit: editCases },
      () => newTeam({ member_ids: ids(0) }),
    );
  });
});
