import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import { incidentIn } from '../support/fixtures.ts';
import { storedState } from '../support/snapshot.ts';

type Problem = { status: number; code: string; detail: string; errors?: { field: string; rule: string; message: string }[] };

describe('bad input: a clear 4xx problem, and stored data unchanged', () => {
  let t: TestContext;
  let escalatingId: string;
  before(async () => {
    t = await createTestContext({ bodyLimitBytes: 16 * 1024 });
    escalatingId = await incidentIn(t.api, 'ESCALATING');
    await incidentIn(t.api, 'ACKNOWLEDGED');
  });
  after(() => t.close());

  /** Sends a request, checks the problem, and checks that nothing stored changed. */
  async function expectRefused(
    send: () => Promise<{ status: number; headers: Headers; body: unknown }>,
    status: number,
    code: string,
    fieldError?: { field: string; rule: string },
  ): Promise<Problem> {
    const before = await storedState(t.pool);
    const res = await send();
    const problem = res.body as Problem;
    expect(res.status).to.equal(status);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(problem.code).to.equal(code);
    if (fieldError)
      expect(problem.errors).to.deep.include.members([{ ...fieldError, message: problem.errors?.find((e) => e.field === fieldError.field)?.message }]);
    expect(await storedState(t.pool)).to.deep.equal(before);
    return problem;
  }

  const createCases: [string, unknown, string, string][] = [
    ['a missing title', { severity: 'critical' }, 'title', 'required'],
    ['an empty title', { title: '' }, 'title', 'minLength'],
    ['a blank title', { title: '   ' }, 'title', 'pattern'],
    ['a title over 500 characters', { title: 'x'.repeat(501) }, 'title', 'maxLength'],
    ['a description over 10,000 characters', { title: 'x', description: 'd'.repeat(10_001) }, 'description', 'maxLength'],
    ['a numeric title', { title: 42 }, 'title', 'type'],
    ['an unknown severity', { title: 'x', severity: 'urgent' }, 'severity', 'enum'],
    ['escalate as a string', { title: 'x', escalate: 'yes' }, 'escalate', 'type'],
    ['an unknown field', { title: 'x', severty: 'critical' }, 'severty', 'additionalProperties'],
    ['a null title', { title: null }, 'title', 'type'],
    ['an array body', [{ title: 'x' }], '(body)', 'type'],
    ['a string body', 'title', '(body)', 'type'],
    ['an actor over 200 characters', { title: 'x', actor: 'a'.repeat(201) }, 'actor', 'maxLength'],
  ];
  for (const [name, body, field, rule] of createCases) {
    it(`POST /incidents with ${name}: 400 naming ${field} and ${rule}`, async () => {
      await expectRefused(() => t.api.post('/incidents', body), 400, 'validation_failed', { field, rule });
    });
  }

  it('POST /incidents with no body: 400 saying a JSON object is required', async () => {
    const problem = await expectRefused(() => t.api.raw('POST', '/incidents', {}), 400, 'validation_failed');
    expect(problem.errors).to.deep.equal([{ field: '(body)', rule: 'required', message: 'a JSON object is required' }]);
  });

  it('reports every broken rule of a body at once', async () => {
    const problem = await expectRefused(() => t.api.post('/incidents', { severity: 'urgent', extra: 1 }), 400, 'validation_failed');
    expect(problem.errors?.map((e) => `${e.field}:${e.rule}`)).to.have.members(['title:required', 'severity:enum', 'extra:additionalProperties']);
  });

  it('malformed JSON: 400 invalid_json', async () => {
    const problem = await expectRefused(
      () => t.api.raw('POST', '/incidents', { body: '{"title": "x",', headers: { 'content-type': 'application/json' } }),
      400,
      'invalid_json',
    );
    expect(problem.detail).to.match(/^the body is not valid JSON/);
  });

  it('a body over the size limit: 413 payload_too_large', async () => {
    await expectRefused(() => t.api.post('/incidents', { title: 'x', description: 'd'.repeat(20_000) }), 413, 'payload_too_large');
  });

  it('a body that is not JSON: 415 unsupported_media_type', async () => {
    await expectRefused(
      () => t.api.raw('POST', '/incidents', { body: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      415,
      'unsupported_media_type',
    );
  });

  const transitionCases: [string, unknown, string, string][] = [
    ['an unknown field', { actr: 'bob' }, 'actr', 'additionalProperties'],
    ['a numeric actor', { actor: 7 }, 'actor', 'type'],
    ['an empty actor', { actor: '' }, 'actor', 'minLength'],
    ['a note over 2,000 characters', { note: 'n'.repeat(2001) }, 'note', 'maxLength'],
    ['expected_version as a string', { expected_version: '2' }, 'expected_version', 'type'],
    ['expected_version 0', { expected_version: 0 }, 'expected_version', 'minimum'],
    ['expected_version 1.5', { expected_version: 1.5 }, 'expected_version', 'type'],
  ];
  for (const [name, body, field, rule] of transitionCases) {
    it(`POST /incidents/:id/acknowledge with ${name}: 400 naming ${field}`, async () => {
      await expectRefused(() => t.api.post(`/incidents/${escalatingId}/acknowledge`, body), 400, 'validation_failed', { field, rule });
    });
  }

  for (const badId of ['123', 'not-a-uuid', '00000000-0000-4000-8000-00000000000g', "1' OR '1'='1", '%00']) {
    it(`a malformed id (${JSON.stringify(badId)}) is 400, not 404 or 500`, async () => {
      const path = `/incidents/${encodeURIComponent(badId)}/resolve`;
      await expectRefused(() => t.api.post(path), 400, 'validation_failed', { field: 'id', rule: 'format' });
    });
  }

  it('an unknown route is a 404 problem; a wrong method is a 405 problem', async () => {
    await expectRefused(() => t.api.get('/nope'), 404, 'route_not_found');
    const wrongMethod = await expectRefused(() => t.api.raw('DELETE', `/incidents/${escalatingId}`, {}), 405, 'method_not_allowed');
    expect(wrongMethod.detail).to.include('GET');
  });
});
