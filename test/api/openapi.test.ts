import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'chai';
import { createApp } from '../../src/api/app.ts';
import { ENDPOINTS } from '../../src/api/endpoints/index.ts';
import { DOCS_CONTENT_SECURITY_POLICY } from '../../src/api/endpoints/docs.ts';
import { openApiPath } from '../../src/api/openapi.ts';
import { IncidentView } from '../../src/presenters/incidents.ts';
import { PolicyView } from '../../src/presenters/policies.ts';
import { TokenView } from '../../src/presenters/tokens.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { patch } from '../support/people.ts';

type Json = Record<string, unknown>;
type Doc = { openapi: string; info: Json; paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json> } };

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every "METHOD /path" the app answers, read from the routers createApp mounts (HEAD is implied by GET). */
function appRoutes(t: TestContext): string[] {
  const routes = new Set<string>();
  for (const middleware of createApp(t.deps).middleware) {
    const router = (middleware as { router?: { stack: { path: string; methods: string[] }[] } }).router;
    for (const layer of router?.stack ?? []) {
      for (const method of layer.methods) {
        if (method !== 'HEAD') routes.add(`${method} ${layer.path.replace(/:(\w+)/g, '{$1}')}`);
      }
    }
  }
  return [...routes].sort();
}

function documentedRoutes(doc: Doc): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => HTTP_METHODS.includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    )
    .sort();
}

/** A schema as the document holds it: plain JSON, each titled part replaced by its $ref (written independently of src/api/openapi.ts). */
function asDocumented(schema: unknown, top = true): unknown {
  if (Array.isArray(schema)) return schema.map((item) => asDocumented(item, false));
  if (typeof schema !== 'object' || schema === null) return schema;
  const title = (schema as Json).title;
  if (!top && typeof title === 'string') return { $ref: `#/components/schemas/${title}` };
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, asDocumented(value, false)]));
}

/** Formats the document names: standard ones, and the API's own (src/schema/formats.ts). */
const FORMATS = { uuid: true, 'date-time': true, date: true, email: true, e164: true, 'time-zone': true } as const;

describe('OpenAPI document', () => {
  let t: TestContext;
  let doc: Doc;
  before(async () => {
    t = await createTestContext();
    const res = await t.api.get<Doc>('/openapi.json');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    doc = res.body;
  });
  after(() => t.close());

  it('is a valid OpenAPI 3.1 document, versioned as package.json', async () => {
    expect(doc.openapi).to.equal('3.1.0');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(doc.info.version).to.equal(pkg.version);
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? [], JSON.stringify(result.errors)).to.deep.equal([]);
    expect(result.valid).to.equal(true);
    // The validator does reject a broken document (it is no rubber stamp).
    expect((await new Validator().validate({ ...doc, info: {} })).valid).to.equal(false);
  });

  it('holds only JSON Schema 2020-12 schemas (each compiles with a strict ajv 2020)', () => {
    const ajv = new Ajv2020({ strict: true, formats: FORMATS });
    ajv.addVocabulary(['components']);
    ajv.addSchema({ $id: 'openapi.json', components: doc.components });
    for (const name of Object.keys(doc.components.schemas)) {
      expect(ajv.getSchema(`openapi.json#/components/schemas/${name}`), name).to.be.a('function');
    }
  });

  it('documents every route of the app, and no route it does not have', () => {
    const routes = appRoutes(t);
    expect(routes.length).to.be.greaterThan(40);
    expect(routes).to.include('GET /incidents/{id}').and.to.include('GET /openapi.json');
    expect(documentedRoutes(doc)).to.deep.equal(routes);
  });

  it("gives every operation a summary, its path ids as UUIDs (a webhook's key as its shape), a success answer and problem answers", () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.summary, where).to.be.a('string').and.not.equal('');
        const ids = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name);
        const inPath = ((op.parameters as Json[] | undefined) ?? []).filter((p) => p.in === 'path');
        // Every path parameter is a UUID, but the integration key a webhook is sent to (its declared shape).
        const idSchema = (name: string) =>
          name === 'key' ? { type: 'string', pattern: '^klxr[abcdefghijklmnopqrstuvwxyz0123456789]{28}$' } : { type: 'string', format: 'uuid' };
        expect(
          inPath.map((p) => ({
            ...p,
            schema: {
              type: (p.schema as Json).type,
              ...((p.schema as Json).format ? { format: (p.schema as Json).format } : { pattern: (p.schema as Json).pattern }),
            },
          })),
          where,
        ).to.deep.equal(ids.map((name) => ({ name, in: 'path', required: true, schema: idSchema(name ?? '') })));
        const statuses = Object.keys(op.responses as Json);
        expect(
          statuses.filter((s) => /^2/.test(s)),
          where,
        ).to.have.lengthOf(1);
        expect(statuses, where).to.include('500');
      }
    }
    const problem = doc.components.schemas.Problem as { properties: Json };
    expect(Object.keys(problem.properties)).to.have.members(['type', 'title', 'status', 'detail', 'code', 'instance', 'request_id', 'errors']);
    const answer = doc.paths['/incidents/{id}']?.get?.responses as Record<string, Json>;
    expect(answer['404']).to.deep.equal({ $ref: '#/components/responses/Problem404' });
  });

  it('describes request bodies, query parameters and answers with the very schemas the endpoints validate with and present by', () => {
    let bodies = 0;
    for (const endpoint of ENDPOINTS) {
      const op = doc.paths[openApiPath(endpoint.path)]?.[endpoint.method.toLowerCase()] as Json;
      const where = `${endpoint.method} ${endpoint.path}`;
      // The validators were compiled from the declared objects themselves.
      expect(endpoint.validate.body?.schema, where).to.equal(endpoint.body);
      expect(endpoint.validate.query.schema, where).to.equal(endpoint.query);
      if (endpoint.body) {
        bodies += 1;
        const title = (endpoint.body as Json).title as string;
        expect(title, where).to.be.a('string');
        expect(op.requestBody, where).to.deep.equal({
          required: endpoint.bodyRequired,
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${title}` } } },
        });
        expect(doc.components.schemas[title], title).to.deep.equal(asDocumented(endpoint.body));
      }
      const inQuery = ((op.parameters as Json[] | undefined) ?? []).filter((p) => p.in === 'query');
      const query = endpoint.query as { properties: Json; required?: string[] };
      const required = new Set(query.required ?? []);
      expect(inQuery, where).to.deep.equal(
        Object.entries(query.properties).map(([name, schema]) => ({ name, in: 'query', required: required.has(name), schema: asDocumented(schema, false) })),
      );
    }
    expect(bodies).to.be.greaterThan(15);
    // Answers: the presenters' views, by name.
    for (const view of [IncidentView, PolicyView, TokenView]) {
      expect(doc.components.schemas[(view as unknown as Json).title as string]).to.deep.equal(asDocumented(view));
    }
    expect((doc.paths['/incidents/{id}']?.get?.responses as Record<string, Json>)['200']).to.deep.equal({
      description: 'OK',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Incident' } } },
    });
  });

  it("describes the answers the API really gives (they validate against the document's schemas)", async () => {
    const ajv = new Ajv2020({ strict: false, formats: { ...FORMATS, uuid: /^[0-9a-f-]{36}$/ } });
    ajv.addSchema(doc, 'openapi.json');
    const check = (res: { status: number; body: unknown }, path: string, method = 'get') => {
      const pointer = `#/paths/${path.replace(/\//g, '~1')}/${method}/responses/${res.status}/content/application~1json/schema`;
      const validate = ajv.getSchema(`openapi.json${pointer}`);
      expect(validate, `${method} ${path} ${res.status}`).to.be.a('function');
      expect(validate?.(res.body), `${method} ${path}: ${JSON.stringify(validate?.errors)}`).to.equal(true);
    };
    const user = await t.api.post<Json>('/users', { name: 'Ada', email: 'ada@example.com', phone: '+4915112345678' });
    check(user, '/users', 'post');
    const team = await t.api.post<Json>('/teams', { name: 'Payments', member_ids: [user.body.id] });
    check(team, '/teams', 'post');
    const schedule = await t.api.post<Json>('/schedules', {
      name: 'Primary',
      rotation: { user_ids: [user.body.id], shift_length: 1, shift_unit: 'weeks', handoff_time: '09:00', time_zone: 'Europe/Berlin', start_date: '2026-02-23' },
    });
    check(schedule, '/schedules', 'post');
    const scheduleId = String(schedule.body.id);
    check(await t.api.get(`/schedules/${scheduleId}/on-call`), '/schedules/{id}/on-call');
    check(await t.api.get(`/schedules/${scheduleId}/shifts?from=2026-03-01T00:00:00Z&to=2026-03-20T00:00:00Z`), '/schedules/{id}/shifts');
    check(
      await t.api.post(`/schedules/${scheduleId}/overrides`, { user_id: user.body.id, start: '2026-03-02T00:00:00Z', end: '2026-03-03T00:00:00Z' }),
      '/schedules/{id}/overrides',
      'post',
    );
    const policy = await t.api.post<Json>('/escalation-policies', {
      name: 'Payments',
      levels: [
        {
          delay: '5m',
          targets: [
            { type: 'schedule', id: scheduleId },
            { type: 'team', id: team.body.id },
          ],
        },
      ],
    });
    check(policy, '/escalation-policies', 'post');
    const service = await t.api.post<Json>('/services', { name: 'checkout', escalation_policy_id: policy.body.id });
    check(service, '/services', 'post');
    check(await patch(t.api, `/services/${String(service.body.id)}`, { description: null }), '/services/{id}', 'patch');

    const incident = await t.api.post<Json>('/incidents', { title: 'card payments failing', service_id: service.body.id, escalate: true });
    check(incident, '/incidents', 'post');
    const id = String(incident.body.id);
    check(await t.api.post(`/incidents/${id}/acknowledge`, { actor: 'ada' }), '/incidents/{id}/acknowledge', 'post');
    check(await t.api.get(`/incidents/${id}/escalations`), '/incidents/{id}/escalations');
    check(await t.api.get(`/incidents/${id}/events`), '/incidents/{id}/events');
    for (const path of ['/incidents', '/users', '/teams', '/services', '/escalation-policies', '/schedules', '/healthz', '/readyz', '/stats']) {
      check(await t.api.get(path), path);
    }

    const missing = await t.api.get('/incidents/00000000-0000-4000-8000-000000000000');
    expect(missing.status).to.equal(404);
    expect(missing.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(ajv.validate('openapi.json#/components/schemas/Problem', missing.body), JSON.stringify(ajv.errors)).to.equal(true);
  });
});

describe('GET /docs', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  it('answers an HTML page listing the operations and schemas, with no external asset', async () => {
    const res = await t.api.get('/docs');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/html/);
    expect(res.text).to.include('/incidents/{id}/acknowledge').and.include('CreateIncidentBody').and.include('href="/openapi.json"');
    expect(res.text).not.to.match(/(src|href)="(https?:)?\/\//);
  });

  it("carries a Content-Security-Policy that allows nothing but the page's own style, by its hash", async () => {
    const res = await t.api.get('/docs');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).to.equal(DOCS_CONTENT_SECURITY_POLICY);
    expect(csp).to.include("default-src 'none'").and.include("frame-ancestors 'none'").and.not.include('unsafe');
    const style = /<style>([\s\S]*?)<\/style>/.exec(res.text)?.[1] ?? '';
    const hash = createHash('sha256').update(style).digest('base64');
    expect(csp).to.include(`style-src 'sha256-${hash}'`);
    expect(res.text).to.not.include('<script');
  });
});
