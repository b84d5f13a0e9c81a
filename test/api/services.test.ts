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
  insertIncident,
  insertPolicy,
  itKeepsUnique,
  itRefusesBadBodies,
  itRefusesUnknownAndMalformedIds,
  patch,
} from '../support/people.ts';

describe('services API', () => {
  let t: TestContext;
  let policyId: string;
  let otherPolicyId: string;
  before(async () => {
    t = await createTestContext();
    policyId = await insertPolicy(t.pool, 'Web policy', []);
    otherPolicyId = await insertPolicy(t.pool, 'Batch policy', []);
  });
  after(() => t.close());

  let serial = 0;
  const newService = (fields: Json = {}) => {
    serial += 1;
    return created(t.api, '/services', { name: `Service ${serial}`, ...fields });
  };

  describe('create, read, edit, delete', () => {
    it('POST /services answers 201 with the service and its Location; no policy means the default one', async () => {
      const res = await t.api.post('/services', { name: 'Checkout' });
      expect(res.status, res.text).to.equal(201);
      expect(res.headers.get('location')).to.equal(`/services/${String(res.body.id)}`);
      expect(res.body).to.deep.equal({
        id: res.body.id,
        name: 'Checkout',
        description: null,
        escalation_policy_id: null,
        team_id: null,
        auto_escalate: true,
        created_at: '2026-03-01T09:00:00.000Z',
        updated_at: '2026-03-01T09:00:00.000Z',
      });
    });

    it('POST with a description and an escalation policy (in any letter case); null policy is the default', async () => {
      const service = await newService({ description: 'the web shop', escalation_policy_id: policyId.toUpperCase() });
      expect(service).to.include({ description: 'the web shop', escalation_policy_id: policyId });
      expect(await newService({ escalation_policy_id: null, description: null })).to.include({ escalation_policy_id: null, description: null });
    });

    it('GET /services/:id returns the service', async () => {
      const service = await newService({ escalation_policy_id: policyId });
      const res = await t.api.get(`/services/${service.id}`);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(service);
    });

    it('PATCH changes only the fields given and stamps updated_at', async () => {
      const service = await newService({ description: 'before', escalation_policy_id: policyId });
      t.clock.advance(5_000);
      const res = await patch(t.api, `/services/${service.id}`, { escalation_policy_id: otherPolicyId });
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.deep.equal({ ...service, escalation_policy_id: otherPolicyId, updated_at: t.clock.now().toISOString() });
    });

    it('PATCH with null clears the description and goes back to the default policy', async () => {
      const service = await newService({ description: 'before', escalation_policy_id: policyId });
      const res = await patch(t.api, `/services/${service.id}`, { description: null, escalation_policy_id: null, name: 'Renamed service' });
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.include({ description: null, escalation_policy_id: null, name: 'Renamed service' });
    });

    it('auto_escalate (whether incidents that alerts open escalate at once) defaults to true, is set on create and changed by PATCH alone', async () => {
      const off = await newService({ auto_escalate: false });
      expect(off.auto_escalate).to.equal(false);
      expect((await t.api.get(`/services/${off.id}`)).body.auto_escalate).to.equal(false);
      const on = await patch(t.api, `/services/${off.id}`, { auto_escalate: true });
      expect(on.status, on.text).to.equal(200);
      expect(on.body).to.include({ auto_escalate: true, name: off.name });
      // A PATCH of other fields leaves it as it is.
      await patch(t.api, `/services/${off.id}`, { auto_escalate: false });
      const renamed = await patch(t.api, `/services/${off.id}`, { name: 'Renamed, still manual' });
      expect(renamed.body).to.include({ auto_escalate: false, name: 'Renamed, still manual' });
      const row = await t.pool.query<{ auto_escalate: boolean }>('SELECT auto_escalate FROM services WHERE id = $1', [off.id]);
      expect(row.rows[0]?.auto_escalate).to.equal(false);
    });

    it('DELETE /services/:id answers 204, and the service is gone', async () => {
      const service = await newService({ escalation_policy_id: policyId });
      expect((await del(t.api, `/services/${service.id}`)).status).to.equal(204);
      expect((await t.api.get(`/services/${service.id}`)).status).to.equal(404);
    });

    itRefusesUnknownAndMalformedIds('/services', 'service', () => t);
  });

  describe('unique names, known policies, incidents', () => {
    itKeepsUnique(
      '/services',
      'name',
      () => t,
      (name) => ({ name }),
      (word) => word,
    );

    it('an unknown escalation_policy_id: 422 reference_not_found naming the field and id', async () => {
      const problem = await expectRefused(
        t.pool,
        () => t.api.post('/services', { name: 'Orphan', escalation_policy_id: UNKNOWN_ID }),
        422,
        'reference_not_found',
      );
      expect(problem.errors).to.deep.equal([{ field: 'escalation_policy_id', rule: 'exists', message: `no escalation policy with id ${UNKNOWN_ID}` }]);
      const service = await newService();
      await expectRefused(t.pool, () => patch(t.api, `/services/${service.id}`, { escalation_policy_id: UNKNOWN_ID }), 422, 'reference_not_found');
    });

    it('a service with incidents cannot be deleted: 409 in_use, saying why and naming them', async () => {
      const service = await newService({ name: 'Payments API' });
      const older = await insertIncident(t.pool, service.id, 'card declines spike', t.clock.now());
      t.clock.advance(1_000);
      const newer = await insertIncident(t.pool, service.id, 'payment webhook 5xx', t.clock.now());
      const problem = await expectRefused(t.pool, () => del(t.api, `/services/${service.id}`), 409, 'in_use');
      expect(problem.title).to.equal('Still in use');
      expect(problem.detail).to.include('2 incidents').and.include('ON DELETE RESTRICT').and.include('"payment webhook 5xx"');
      expect(problem.used_by).to.deep.equal([
        { kind: 'incident', id: newer, name: 'payment webhook 5xx' },
        { kind: 'incident', id: older, name: 'card declines spike' },
      ]);
    });

    it('a service with integration keys (kept for the alert log, even revoked) cannot be deleted: 409 in_use naming them', async () => {
      const service = await newService({ name: 'Alerted service' });
      const key = await t.api.post(`/services/${service.id}/integration-keys`, { name: 'alertmanager' });
      expect(key.status, key.text).to.equal(201);
      expect((await t.api.post(`/integration-keys/${String(key.body.id)}/revoke`)).status).to.equal(200);
      const problem = await expectRefused(t.pool, () => del(t.api, `/services/${service.id}`), 409, 'in_use');
      expect(problem.detail).to.include('integration keys');
      expect(problem.used_by).to.deep.equal([{ kind: 'integration key', id: key.body.id, name: 'alertmanager' }]);
    });

    it('names at most 20 incidents, and counts them all', async () => {
      const service = await newService();
      for (let i = 0; i < 23; i += 1) await insertIncident(t.pool, service.id, `incident ${i}`);
      const problem = await expectRefused(t.pool, () => del(t.api, `/services/${service.id}`), 409, 'in_use');
      expect(problem.used_by).to.have.length(20);
      expect(problem.detail).to.include('23 incidents');
    });
  });

  describeListing(
    '/services',
    () => t,
    ['delta', 'Alpha', 'charlie', 'Bravo', 'echo', 'Foxtrot', 'golf'],
    (name) => newService({ name }),
  );

  describe('bad bodies: 400 naming the field and rule, nothing stored', () => {
    const createCases: BodyCase[] = [
      ['no name', { description: 'x' }, 'name', 'required'],
      ['a numeric name', { name: 5 }, 'name', 'type'],
      ['an empty name', { name: '' }, 'name', 'minLength'],
      ['a blank name', { name: '  ' }, 'name', 'pattern'],
      ['a name over 200 characters', { name: 's'.repeat(201) }, 'name', 'maxLength'],
      ['a description over 2,000 characters', { name: 'S', description: 'd'.repeat(2001) }, 'description', 'maxLength'],
      ['a numeric description', { name: 'S', description: 1 }, 'description', 'type'],
      ['a policy id that is not a UUID', { name: 'S', escalation_policy_id: 'default' }, 'escalation_policy_id', 'format'],
      ['a numeric policy id', { name: 'S', escalation_policy_id: 1 }, 'escalation_policy_id', 'type'],
      ['auto_escalate as a string', { name: 'S', auto_escalate: 'true' }, 'auto_escalate', 'type'],
      ['auto_escalate null', { name: 'S', auto_escalate: null }, 'auto_escalate', 'type'],
      ['an unknown field', { name: 'S', policy_id: UNKNOWN_ID }, 'policy_id', 'additionalProperties'],
      ['a string body', 'S', '(body)', 'type'],
    ];

    const editCases: BodyCase[] = [
      ['an empty object', {}, '(body)', 'minProperties'],
      ['a null name', { name: null }, 'name', 'type'],
      ['a policy id that is not a UUID', { escalation_policy_id: '42' }, 'escalation_policy_id', 'format'],
      ['auto_escalate as a number', { auto_escalate: 0 }, 'auto_escalate', 'type'],
      ['an unknown field', { owner: 'x' }, 'owner', 'additionalProperties'],
    ];
    itRefusesBadBodies('/services', () => t, { create: createCases, edit: editCases }, newService);
  });
});
