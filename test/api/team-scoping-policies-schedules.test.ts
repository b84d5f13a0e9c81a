import { expect } from 'chai';
import { createToken } from '../../src/commands/tokens.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createTeam, createUser } from '../support/factories.ts';
import type { Api, ApiResponse } from '../support/http.ts';
import { type Json, allPages, del, expectRefused } from '../support/people.ts';

/**
 * Escalation policies and schedules belong to teams: a team's token sees and changes
 * only its team's (another team's answer exactly as missing ones do: 404), makes its
 * team's, and a team's policy pages only what its team may (users, its schedules, its
 * team). An organisation-wide token sees and makes any.
 */
describe('team scoping of escalation policies and schedules', () => {
  let t: TestContext;
  let alice: string;
  let bob: string;
  let teamA: string;
  let teamB: string;
  /** Team A's and team B's tokens (write scope). */
  let asA: Api;
  let asB: Api;

  const suffix = () => Math.random().toString(36).slice(2, 8);
  const rotation = () => ({ user_ids: [alice, bob], shift_length: 1, shift_unit: 'weeks', handoff_time: '09:00', time_zone: 'UTC', start_date: '2026-02-23' });
  const scheduleBody = (extra: Json = {}) => ({ name: `rotation ${suffix()}`, rotation: rotation(), ...extra });
  const policyBody = (extra: Json = {}) => ({ name: `policy ${suffix()}`, levels: [{ delay: '5m', targets: [{ type: 'user', id: alice }] }], ...extra });
  const put = (api: Api, path: string, body: unknown) =>
    api.raw<Json>('PUT', path, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

  async function make(api: Api, path: string, body: Json): Promise<Json & { id: string }> {
    const res = await api.post<Json & { id: string }>(path, body);
    expect(res.status, res.text).to.equal(201);
    return res.body;
  }

  async function teamToken(teamId: string): Promise<Api> {
    const { token } = await createToken(t.deps, { name: `team ${teamId}`, scopes: ['write'], teamId, expiresAt: null }, { via: 'test' });
    return t.api.as(token);
  }

  before(async () => {
    t = await createTestContext();
    alice = await createUser(t.pool, 'Alice');
    bob = await createUser(t.pool, 'Bob');
    teamA = await createTeam(t.pool, 'Team A', [alice]);
    teamB = await createTeam(t.pool, 'Team B', [bob]);
    asA = await teamToken(teamA);
    asB = await teamToken(teamB);
  });
  after(() => t.close());

  for (const resource of ['/escalation-policies', '/schedules'] as const) {
    const body = (extra: Json = {}) => (resource === '/schedules' ? scheduleBody(extra) : policyBody(extra));

    describe(resource, () => {
      it("a team's token lists only its team's; an organisation-wide token lists every team's and the organisation's", async () => {
        const ofA = await make(asA, resource, body());
        const ofB = await make(asB, resource, body());
        const orgWide = await make(t.api, resource, body());
        const idsSeenBy = async (api: Api) => (await allPages(api, resource, 2)).items.map((item) => item.id);
        const seenByA = await idsSeenBy(asA);
        expect(seenByA).to.include(ofA.id).and.not.include(ofB.id).and.not.include(orgWide.id);
        expect((await allPages(asA, resource, 2)).items.every((item) => item.team_id === teamA)).to.equal(true);
        expect(await idsSeenBy(asB))
          .to.include(ofB.id)
          .and.not.include(ofA.id);
        expect(await idsSeenBy(t.api)).to.include.members([ofA.id, ofB.id, orgWide.id]);
      });

      it("creating with a team's token makes a record of that team, whether it names it or not; asking for none (null) is 422", async () => {
        expect(await make(asA, resource, body())).to.include({ team_id: teamA });
        await expectRefused(t.pool, () => asA.post(resource, body({ team_id: null })), 422, 'team_not_allowed', { field: 'team_id', rule: 'organisation' });
        const named = await make(asA, resource, body({ team_id: teamA.toUpperCase() }));
        expect(named.team_id).to.equal(teamA);
        expect((await asA.get(`${resource}/${named.id}`)).body).to.deep.equal(named);
      });

      it("a team's token naming another team is 422 reference_not_found on team_id, and stores nothing", async () => {
        await expectRefused(t.pool, () => asA.post(resource, body({ team_id: teamB })), 422, 'reference_not_found', { field: 'team_id', rule: 'exists' });
      });

      it('an organisation-wide token creates for any team, or for none; an unknown team is 422', async () => {
        expect(await make(t.api, resource, body({ team_id: teamB }))).to.include({ team_id: teamB });
        expect(await make(t.api, resource, body({ team_id: null }))).to.include({ team_id: null });
        expect(await make(t.api, resource, body())).to.include({ team_id: null });
        const unknown = '00000000-0000-4000-8000-00000000000a';
        await expectRefused(t.pool, () => t.api.post(resource, body({ team_id: unknown })), 422, 'reference_not_found', { field: 'team_id', rule: 'exists' });
      });

      it('the same name in two teams (and organisation-wide) is allowed; twice in one team, whatever the case, is 409', async () => {
        const name = `shared name ${suffix()}`;
        await make(asA, resource, body({ name }));
        await make(asB, resource, body({ name }));
        await make(t.api, resource, body({ name }));
        const again = await expectRefused(t.pool, () => asA.post(resource, body({ name: name.toUpperCase() })), 409, 'already_exists');
        expect(again.field).to.equal('name');
        // The organisation-wide token making one for team A meets the same rule.
        await expectRefused(t.pool, () => t.api.post(resource, body({ name, team_id: teamA })), 409, 'already_exists');
        // Renaming onto a name of the same team is refused too; onto another team's is fine.
        const other = await make(asA, resource, body());
        await expectRefused(t.pool, () => put(asA, `${resource}/${other.id}`, body({ name })), 409, 'already_exists');
        const renamedInB = await make(asB, resource, body());
        expect((await put(asB, `${resource}/${renamedInB.id}`, body({ name: `${name} b` }))).status).to.equal(200);
      });

      it("another team's record is 404 not_found to read, replace and delete, and stays as it was", async () => {
        const ofB = await make(asB, resource, body());
        const missing = `${resource}/00000000-0000-4000-8000-00000000000b`;
        const sends: [string, (path: string) => Promise<ApiResponse<unknown>>][] = [
          ['GET', (path) => asA.get(path)],
          ['PUT', (path) => put(asA, path, body())],
          ['PUT naming its team', (path) => put(asA, path, body({ team_id: teamB }))],
          ['DELETE', (path) => del(asA, path)],
        ];
        for (const [what, send] of sends) {
          const problem = await expectRefused(t.pool, () => send(`${resource}/${ofB.id}`), 404, 'not_found');
          const missingProblem = await expectRefused(t.pool, () => send(missing), 404, 'not_found');
          // Exactly as a missing one: the same answer but for the id.
          expect(problem.detail.replace(ofB.id, 'ID'), what).to.equal(missingProblem.detail.replace(missing.split('/').at(-1) ?? '', 'ID'));
        }
        expect((await asB.get(`${resource}/${ofB.id}`)).body).to.deep.equal(ofB);
      });

      it("PUT keeps the record's team: repeating it is fine, another team (or none) is 400 immutable on team_id", async () => {
        const ofA = await make(asA, resource, body());
        const kept = await put(asA, `${resource}/${ofA.id}`, body({ name: `renamed ${suffix()}` }));
        expect(kept.status, kept.text).to.equal(200);
        expect(kept.body.team_id).to.equal(teamA);
        expect((await put(asA, `${resource}/${ofA.id}`, body({ team_id: teamA }))).body.team_id).to.equal(teamA);
        for (const [api, teamId] of [
          [asA, teamB],
          [asA, null],
          [t.api, teamB],
          [t.api, null],
        ] as const) {
          await expectRefused(t.pool, () => put(api, `${resource}/${ofA.id}`, body({ team_id: teamId })), 400, 'validation_failed', {
            field: 'team_id',
            rule: 'immutable',
          });
        }
        const orgWide = await make(t.api, resource, body());
        expect((await put(t.api, `${resource}/${orgWide.id}`, body({ team_id: null }))).body.team_id).to.equal(null);
        await expectRefused(t.pool, () => put(t.api, `${resource}/${orgWide.id}`, body({ team_id: teamA })), 400, 'validation_failed', {
          field: 'team_id',
          rule: 'immutable',
        });
      });

      it("a team's token replaces and deletes its own team's records", async () => {
        const ofA = await make(asA, resource, body());
        expect((await put(asA, `${resource}/${ofA.id}`, body())).status).to.equal(200);
        expect((await del(asA, `${resource}/${ofA.id}`)).status).to.equal(204);
        expect((await t.api.get(`${resource}/${ofA.id}`)).status).to.equal(404);
      });
    });
  }

  describe("a schedule's sub-resources", () => {
    it("another team's schedule is 404 not_found for on-call, shifts and overrides, which stay as they were", async () => {
      const ofB = await make(asB, '/schedules', scheduleBody());
      const override = await make(asB, `/schedules/${ofB.id}/overrides`, { user_id: bob, start: '2026-04-01T10:00:00Z', end: '2026-04-02T10:00:00Z' });
      const path = `/schedules/${ofB.id}`;
      const sends: (() => Promise<ApiResponse<unknown>>)[] = [
        () => asA.get(`${path}/on-call?at=2026-03-02T10:00:00Z`),
        () => asA.get(`${path}/on-call`),
        () => asA.get(`${path}/shifts?from=2026-03-01T00:00:00Z&to=2026-03-15T00:00:00Z`),
        () => asA.get(`${path}/overrides`),
        () => asA.post(`${path}/overrides`, { user_id: alice, start: '2026-04-03T10:00:00Z', end: '2026-04-04T10:00:00Z' }),
        () => del(asA, `${path}/overrides/${override.id}`),
      ];
      for (const send of sends) {
        const problem = await expectRefused(t.pool, send, 404, 'not_found');
        expect(problem.detail).to.equal(`schedule ${ofB.id} does not exist`);
      }
      const overrides = await asB.get<{ items: Json[] }>(`${path}/overrides?from=2026-03-01T00:00:00Z`);
      expect(overrides.body.items.map((item) => item.id)).to.deep.equal([override.id]);
    });

    it("a team's token reads and changes its own schedule's on-call, shifts and overrides; so does an organisation-wide token", async () => {
      const ofA = await make(asA, '/schedules', scheduleBody());
      const path = `/schedules/${ofA.id}`;
      for (const api of [asA, t.api]) {
        const override = await make(api, `${path}/overrides`, { user_id: bob, start: '2026-04-01T10:00:00Z', end: '2026-04-02T10:00:00Z' });
        expect((await api.get<{ user: Json | null }>(`${path}/on-call?at=2026-04-01T12:00:00Z`)).body.user?.id).to.equal(bob);
        expect((await api.get(`${path}/shifts?from=2026-03-01T00:00:00Z&to=2026-03-15T00:00:00Z`)).status).to.equal(200);
        expect((await api.get<{ items: Json[] }>(`${path}/overrides`)).body.items.map((item) => item.id)).to.deep.equal([override.id]);
        expect((await del(api, `${path}/overrides/${override.id}`)).status).to.equal(204);
      }
    });
  });

  describe("a policy's targets", () => {
    const targeting = (targets: Json[], extra: Json = {}) => policyBody({ levels: [{ delay: '5m', targets }], ...extra });

    it("a team's policy pages users, its team's schedules and its team", async () => {
      const scheduleOfA = await make(asA, '/schedules', scheduleBody());
      const policy = await make(
        asA,
        '/escalation-policies',
        targeting([
          { type: 'user', id: bob },
          { type: 'schedule', id: scheduleOfA.id },
          { type: 'team', id: teamA },
        ]),
      );
      expect(policy.team_id).to.equal(teamA);
      const levels = policy.levels as { targets: Json[] }[];
      expect(levels[0]?.targets.map((target) => target.id)).to.deep.equal([bob, scheduleOfA.id, teamA]);
    });

    it("a team's policy paging another team's schedule or another team is 422 reference_not_found naming the target", async () => {
      const scheduleOfB = await make(asB, '/schedules', scheduleBody());
      const orgWideSchedule = await make(t.api, '/schedules', scheduleBody());
      const refused: Json[] = [
        { type: 'schedule', id: scheduleOfB.id },
        { type: 'team', id: teamB },
        { type: 'schedule', id: orgWideSchedule.id },
      ];
      for (const target of refused) {
        const problem = await expectRefused(
          t.pool,
          () => asA.post('/escalation-policies', targeting([{ type: 'user', id: alice }, target])),
          422,
          'reference_not_found',
          { field: 'levels.0.targets.1.id', rule: 'exists' },
        );
        expect(problem.errors).to.have.length(1);
        // Made by the organisation-wide token for team A: the same rule.
        await expectRefused(t.pool, () => t.api.post('/escalation-policies', targeting([target], { team_id: teamA })), 422, 'reference_not_found', {
          field: 'levels.0.targets.0.id',
          rule: 'exists',
        });
      }
      // Replacing team A's policy with such a target is refused as well.
      const ofA = await make(asA, '/escalation-policies', policyBody());
      await expectRefused(t.pool, () => put(asA, `/escalation-policies/${ofA.id}`, targeting([{ type: 'team', id: teamB }])), 422, 'reference_not_found', {
        field: 'levels.0.targets.0.id',
        rule: 'exists',
      });
    });

    it("an organisation-wide policy pages any team and any team's schedule", async () => {
      const scheduleOfB = await make(asB, '/schedules', scheduleBody());
      const policy = await make(
        t.api,
        '/escalation-policies',
        targeting([
          { type: 'schedule', id: scheduleOfB.id },
          { type: 'team', id: teamA },
        ]),
      );
      expect(policy.team_id).to.equal(null);
    });
  });
});
