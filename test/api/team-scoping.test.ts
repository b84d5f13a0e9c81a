/**
 * Services and incidents belong to teams: a team's token neither sees nor changes
 * another team's (404, as if they did not exist), and makes its own team's records.
 * (Policies and schedules: team-scoping-policies-schedules.test.ts.)
 */
import { expect } from 'chai';
import { createToken } from '../../src/commands/tokens.ts';
import type { Api } from '../support/http.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createTeam, createUser } from '../support/factories.ts';
import { del, patch } from '../support/people.ts';

type Json = Record<string, unknown>;

describe('team scoping: services and incidents', () => {
  let t: TestContext;
  let teamA: string;
  let teamB: string;
  let apiA: Api;
  let apiB: Api;
  let readerA: Api;

  before(async () => {
    t = await createTestContext();
    teamA = await createTeam(t.ownerPool, 'scoping A', []);
    teamB = await createTeam(t.ownerPool, 'scoping B', []);
    const token = async (teamId: string, scopes: ('read' | 'write')[]) =>
      (await createToken(t.deps, { name: `team ${teamId}`, scopes, teamId, expiresAt: null }, { via: 'test' })).token;
    apiA = t.api.as(await token(teamA, ['write']));
    apiB = t.api.as(await token(teamB, ['write']));
    readerA = t.api.as(await token(teamA, ['read']));
  });
  after(async () => t.close());

  async function rowsOf(table: string): Promise<unknown[]> {
    return (await t.ownerPool.query<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY id`)).rows;
  }

  describe('services', () => {
    let serviceA: Json;
    let serviceB: Json;
    before(async () => {
      serviceA = (await apiA.post('/services', { name: 'checkout' })).body;
      serviceB = (await apiB.post('/services', { name: 'checkout' })).body;
    });

    it("a team's token makes its own team's service; the same name in another team is fine", () => {
      expect(serviceA.team_id).to.equal(teamA);
      expect(serviceB.team_id).to.equal(teamB);
    });

    it('the same name twice in one team is 409 already_exists naming name', async () => {
      const res = await apiA.post('/services', { name: 'CHECKOUT' });
      expect(res.status).to.equal(409);
      expect(res.body.field ?? (res.body.errors as Json[] | undefined)?.[0]?.field).to.equal('name');
    });

    it("lists only its team's services; the organisation-wide token lists both", async () => {
      const ofA = ((await apiA.get('/services')).body.items as Json[]).map((s) => s.id);
      expect(ofA).to.deep.equal([serviceA.id]);
      const all = ((await t.api.get('/services')).body.items as Json[]).map((s) => s.id);
      expect(all).to.include.members([serviceA.id, serviceB.id]);
    });

    it("another team's service is 404 for read, edit and delete, and stays as it was", async () => {
      const before = await rowsOf('services');
      const id = String(serviceB.id);
      for (const res of [await apiA.get(`/services/${id}`), await patch(apiA, `/services/${id}`, { name: 'mine now' }), await del(apiA, `/services/${id}`)]) {
        expect(res.status).to.equal(404);
        expect(res.body.code).to.equal('not_found');
      }
      expect(await rowsOf('services')).to.deep.equal(before);
    });

    it("naming another team is 422 on team_id; another team's policy is 422 on escalation_policy_id", async () => {
      const res = await apiA.post('/services', { name: 'elsewhere', team_id: teamB });
      expect(res.status).to.equal(422);
      expect((res.body.errors as Json[])[0]?.field).to.equal('team_id');
      const user = await createUser(t.ownerPool, 'Pat');
      const policyB = await apiB.post('/escalation-policies', { name: 'B policy', levels: [{ delay: '5m', targets: [{ type: 'user', id: user }] }] });
      expect(policyB.status, policyB.text).to.equal(201);
      const withPolicy = await apiA.post('/services', { name: 'borrowing', escalation_policy_id: policyB.body.id });
      expect(withPolicy.status, withPolicy.text).to.equal(422);
      expect((withPolicy.body.errors as Json[])[0]?.field).to.equal('escalation_policy_id');
    });

    it('the organisation-wide token makes services for a team, or for nobody', async () => {
      const forB = await t.api.post('/services', { name: 'made for B', team_id: teamB });
      expect(forB.body.team_id).to.equal(teamB);
      const orgWide = await t.api.post('/services', { name: 'shared' });
      expect(orgWide.body.team_id).to.equal(null);
      expect((await apiA.get(`/services/${String(orgWide.body.id)}`)).status).to.equal(404);
    });

    it('a service cannot move to another team (team_id is refused on PATCH)', async () => {
      const res = await patch(t.api, `/services/${String(serviceA.id)}`, { team_id: teamB });
      expect(res.status).to.equal(400);
    });
  });

  describe('incidents', () => {
    let incidentA: Json;
    let incidentB: Json;
    before(async () => {
      incidentA = (await apiA.post('/incidents', { title: 'A is down', escalate: true })).body;
      incidentB = (await apiB.post('/incidents', { title: 'B is down', escalate: true })).body;
    });

    it("belong to the caller's team without a service, and to the service's team with one", async () => {
      expect(incidentA.team_id).to.equal(teamA);
      const serviceB = await t.api.post('/services', { name: 'B service', team_id: teamB });
      const viaService = await t.api.post('/incidents', { title: 'via service', service_id: serviceB.body.id });
      expect(viaService.body.team_id).to.equal(teamB);
    });

    it("another team's service is an unknown reference (422), and nothing is stored", async () => {
      const serviceB = await apiB.post('/services', { name: 'B only' });
      const before = await rowsOf('incidents');
      const res = await apiA.post('/incidents', { title: 'sneaky', service_id: serviceB.body.id });
      expect(res.status).to.equal(422);
      expect((res.body.errors as Json[])[0]?.field).to.equal('service_id');
      expect(await rowsOf('incidents')).to.deep.equal(before);
    });

    it("lists only its team's incidents, in every state filter", async () => {
      for (const query of ['', '?state=ESCALATING']) {
        const ids = ((await readerA.get(`/incidents${query}`)).body.items as Json[]).map((i) => i.id);
        expect(ids).to.include(incidentA.id);
        expect(ids).to.not.include(incidentB.id);
      }
    });

    it("another team's incident is 404 for every read and every action, and nothing changes", async () => {
      const id = String(incidentB.id);
      const before = { incidents: await rowsOf('incidents'), escalations: await rowsOf('escalations'), events: await rowsOf('incident_events') };
      const answers = [
        await apiA.get(`/incidents/${id}`),
        await apiA.get(`/incidents/${id}/escalations`),
        await apiA.get(`/incidents/${id}/events`),
        await apiA.get(`/incidents/escalations/${id}`),
        await apiA.post(`/incidents/${id}/acknowledge`),
        await apiA.post(`/incidents/${id}/resolve`),
        await apiA.post(`/incidents/${id}/cancel`),
        await apiA.post(`/incidents/${id}/escalate`, { from_level: 0 }),
        await apiA.post(`/incidents/${id}/snooze`, { duration: '10m' }),
        await apiA.post(`/incidents/${id}/reassign`, { level: 1 }),
      ];
      for (const res of answers) {
        expect(res.status, res.text).to.equal(404);
        expect(res.body.code).to.equal('not_found');
      }
      expect({ incidents: await rowsOf('incidents'), escalations: await rowsOf('escalations'), events: await rowsOf('incident_events') }).to.deep.equal(before);
    });

    it('its own are acted on as usual; the event records the token, and the actor defaults to it', async () => {
      const res = await apiA.post(`/incidents/${String(incidentA.id)}/acknowledge`);
      expect(res.status).to.equal(200);
      const events = (await apiA.get(`/incidents/${String(incidentA.id)}/events`)).body.items as Json[];
      const ack = events.find((e) => e.kind === 'acknowledged');
      expect(ack?.actor).to.match(/^token [a-z0-9]{12} \(team /);
      const { rows } = await t.ownerPool.query<{ token_id: string | null }>(
        "SELECT token_id FROM incident_events WHERE incident_id = $1 AND kind IN ('opened', 'escalation_started', 'acknowledged')",
        [incidentA.id],
      );
      expect(rows).to.have.length(3);
      expect(rows.every((row) => row.token_id !== null)).to.equal(true);
    });

    it('a named actor is kept (a person behind a shared token)', async () => {
      const res = await apiA.post('/incidents', { title: 'named', actor: 'ada' });
      const events = (await apiA.get(`/incidents/${String(res.body.id)}/events`)).body.items as Json[];
      expect(events[0]?.actor).to.equal('ada');
    });
  });
});
