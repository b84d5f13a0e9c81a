/**
 * Fuzzing the whole API from its OpenAPI document: for every operation, requests with
 * path ids that exist, random UUIDs and junk; query parameters drawn from their schemas
 * and broken; bodies drawn from the request-body schemas (test/support/schema-arbitrary.ts)
 * and broken, plus malformed JSON, wrong content types, oversized bodies and a few
 * requests off the map (unknown paths, wrong methods). Whatever arrives, the API must
 * answer below 500, every 4xx must be a problem with a code, and no log line may be an
 * error or mention an SQL error: bad input is refused at the edge, never by Postgres.
 *
 * Deterministic by default (FUZZ_SEED); FUZZ_RUNS sets the number of requests. Requests
 * go out on LANES concurrent fast-check runs (seeds FUZZ_SEED + lane), so a failure
 * shrinks to one request and fast-check prints it with the seed and path to replay.
 * New routes are fuzzed as soon as the OpenAPI document lists them.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { ENDPOINTS } from '../../src/api/endpoints/index.ts';
import { buildOpenApiDocument } from '../../src/api/openapi.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createPolicyVia, createServiceRow, createTeam, createUser, createWeeklySchedule } from '../support/factories.ts';
import { incidentIn } from '../support/fixtures.ts';
import { UNKNOWN_ID, insertOverride, peopleState } from '../support/people.ts';
import { storedState } from '../support/snapshot.ts';
import { type Schema, type SchemaArbitraryOptions, invalidValue, junkString, junkValue, rawJson, toJsonText, validValue } from '../support/schema-arbitrary.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_301);
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
/** Requests in flight at once: enough to keep both cores busy and to race writes on shared rows. */
const LANES = 8;
/** Over the test context's 64 KiB body limit. */
const OVERSIZED_BODY_BYTES = 70 * 1024;
/** Longer targets are cut: past Node's header limit (SERVER_LIMITS.maxHeaderSize) it answers a bare 431 itself. */
const MAX_TARGET_CHARS = 7000;
const cap = (target: string) => target.slice(0, MAX_TARGET_CHARS);

interface FuzzRequest {
  method: string;
  /** The path and query string, as sent. */
  target: string;
  body?: string;
  headers: Record<string, string>;
  /** Which operation it was drawn for, for the figures. */
  operation: string;
}

interface Operation {
  method: string;
  /** `/incidents/{id}`. */
  path: string;
  parameters: { name: string; in: string; required?: boolean; schema: Schema }[];
  body?: { schema: Schema; required: boolean };
}

/** The records the path ids and body references are drawn from, by kind. */
type Ids = Record<'incidents' | 'users' | 'teams' | 'schedules' | 'overrides' | 'policies' | 'services', string[]>;

/** What a path's first segment holds ids of. */
const KIND_OF_PREFIX: Record<string, keyof Ids> = {
  incidents: 'incidents',
  users: 'users',
  teams: 'teams',
  schedules: 'schedules',
  'escalation-policies': 'policies',
  services: 'services',
};

function operationsOf(doc: Schema): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(item)) {
      const content = (op.requestBody as Schema | undefined)?.content as Record<string, { schema: Schema }> | undefined;
      const schema = content?.['application/json']?.schema;
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: (op.parameters as Operation['parameters'] | undefined) ?? [],
        body: schema ? { schema, required: (op.requestBody as Schema).required === true } : undefined,
      });
    }
  }
  return operations;
}

// Arbitraries ----------------------------------------------------------------------------

/** encodeURIComponent, and `'` too: fetch would encode it in a query, tripling a target of quotes past MAX_TARGET_CHARS. */
const enc = (text: string) => encodeURIComponent(text).replace(/'/g, '%27');
const isoInstant = fc
  .tuple(
    fc.date({ min: new Date('2025-01-01T00:00:00Z'), max: new Date('2027-12-31T00:00:00Z'), noInvalidDate: true }),
    fc.constantFrom('Z', '+02:00', '-05:30', '+00:00'),
  )
  .map(([date, offset]) => date.toISOString().replace('Z', offset));

/**
 * Instants at and past the edges the API accepts (1970-9999, offsets within ±14:00, real
 * calendar days): each past one was a 500 from Postgres or a silent roll-over once.
 */
const EDGE_INSTANTS = [
  '2026-02-30T00:00:00Z',
  '2026-02-29T00:00:00Z',
  '2028-02-29T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '1969-12-31T23:59:59Z',
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '9999-12-31T23:59:59-01:00',
  '2026-03-01T09:00:00-23:59',
  '2026-03-01T09:00:00+14:00',
  '2026-03-01T09:00:00+14:01',
  '2026-03-01T24:00:00Z',
  '2026-03-01T09:60:00Z',
  '2026-03-01T09:00:60Z',
  '2026-03-01T09:00:00.1234567Z',
];

/** Integers as a query string may spell them, most of which are no decimal integer (each was taken once). */
const TRICKY_INTEGERS = [
  'Infinity',
  '-Infinity',
  '1e999',
  '1e2',
  '0x10',
  '0b1',
  '0o7',
  ' 5',
  '5 ',
  '+5',
  '-0',
  '-1',
  '1.0',
  '1.5',
  '007',
  '9'.repeat(20),
  'NaN',
  '',
];

/** Mostly `usual`, sometimes `edge`: values past the bounds the code checks beyond the schema. */
function mostly<T>(usual: fc.Arbitrary<T>, edge: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ weight: 6, arbitrary: usual }, { weight: 1, arbitrary: edge });
}

/**
 * The generator's hints: real ids of the right kind where a schema wants a UUID, plausible
 * values where code checks a format or range the schema does not, so that a fair share
 * of the bodies gets past validation and into the commands and SQL.
 */
function hintsFor(ids: Ids): SchemaArbitraryOptions {
  const all = Object.values(ids).flat();
  const known = (kind: keyof Ids) => mostly(fc.constantFrom(...ids[kind]), fc.oneof(fc.constantFrom(...all), fc.uuid()));
  const target = fc.oneof(...(['user', 'team', 'schedule'] as const).map((type) => known(`${type}s`).map((id) => ({ type, id }))));
  const someId = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...all) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: fc.constantFrom(...all).map((id) => id.toUpperCase()) },
  );
  const cursorKey = fc.oneof(fc.string({ maxLength: 20 }), junkString);
  return {
    patterns: {
      '^[0-9]+(ms|s|m|h|d)$': mostly(fc.constantFrom('1s', '30s', '5m', '1h', '1d', '7d'), fc.constantFrom('500ms', '8d', '0s', '999999999999d')),
      '^[0-9]+(s|m|h)$': mostly(fc.constantFrom('1m', '30m', '90m', '24h'), fc.constantFrom('30s', '25h', '0m', '99999999999999999999h')),
    },
    formats: {
      uuid: someId,
      'date-time': mostly(isoInstant, fc.constantFrom(...EDGE_INSTANTS)),
      date: mostly(
        fc.date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((date) => date.toISOString().slice(0, 10)),
        fc.constantFrom('2026-02-29', '2028-02-29', '2026-02-30', '2026-13-01', '0000-01-01', '1969-12-31', '1970-01-01', '9999-12-31', '10000-01-01'),
      ),
      'time-zone': fc.constantFrom(
        'UTC',
        'Europe/Berlin',
        'america/new_york',
        'Asia/Kolkata',
        'Australia/Lord_Howe',
        'Etc/GMT+12',
        'Mars/Olympus',
        '+01:00',
        '',
      ),
      e164: fc.oneof(fc.stringMatching(/^\+[1-9][0-9]{6,14}$/), fc.constantFrom('+0123456789', '4915112345678', '+49 151')),
      email: fc.oneof(fc.emailAddress(), fc.constantFrom('ada@localhost', 'a@b', '@example.com', 'ada@@example.com')),
    },
    properties: {
      phone: fc.oneof(fc.stringMatching(/^\+[1-9][0-9]{6,14}$/), fc.constant(null)),
      member_ids: fc.uniqueArray(known('users'), { maxLength: 3 }),
      user_ids: fc.uniqueArray(known('users'), { minLength: 1, maxLength: 3 }),
      shift_length: mostly(fc.integer({ min: 1, max: 14 }), fc.integer({ min: 1, max: 8760 })),
      user_id: known('users'),
      team_id: fc.oneof(known('teams'), fc.constant(null)),
      targets: fc.uniqueArray(target, { minLength: 1, maxLength: 3, selector: ({ id }) => id.toLowerCase() }),
      escalation_policy_id: fc.oneof(known('policies'), fc.constant(null)),
      service_id: known('services'),
      expected_version: fc.integer({ min: 1, max: 4 }),
      from_level: fc.integer({ min: 0, max: 4 }),
      level: fc.integer({ min: 1, max: 4 }),
      limit: fc.integer({ min: 1, max: 200 }),
      cursor: fc.oneof(
        fc.tuple(cursorKey, someId).map(([key, id]) => Buffer.from(JSON.stringify([key, id])).toString('base64url')),
        fc.tuple(fc.oneof(isoInstant, fc.constantFrom(...EDGE_INSTANTS)), someId).map(([at, id]) => Buffer.from(`${at}|${id}`).toString('base64url')),
        fc.tuple(junkValue, junkValue).map((pair) => Buffer.from(toJsonText(pair)).toString('base64url')),
        // Cursors a client could forge from the two shapes: odd JSON, odd text around the bar.
        fc
          .constantFrom('["\\ud800","00000000-0000-4000-8000-000000000000"]', '["a"]', '{"key":"a"}', '"a"', 'null', '[1,2]', '|', '||', 'x|y|z')
          .map((text) => Buffer.from(text).toString('base64url')),
        fc.constantFrom('!!!', '====', 'a', '%00', '\u0000'),
      ),
    },
  };
}

/** A path segment for `{name}`: an id that exists (of the right kind or another), a random UUID, or junk. */
function pathSegment(kind: keyof Ids | undefined, ids: Ids): fc.Arbitrary<string> {
  const all = Object.values(ids).flat();
  return fc.oneof(
    { weight: 6, arbitrary: kind ? fc.constantFrom(...ids[kind]) : fc.constantFrom(...all) },
    { weight: 2, arbitrary: fc.constantFrom(...all) },
    { weight: 1, arbitrary: fc.uuid().map((id) => id.toUpperCase()) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: junkString.map(enc) },
    { weight: 1, arbitrary: fc.constantFrom('%zz', '%', '%E0%A4%A', '%00', '%2F', '..', '.', '%2e%2e', ';', '%ff%fe', 'a%20b', '%C0%AF', '*', '~') },
  );
}

/** A query value as text: drawn from the parameter's schema (hints first), or junk. */
function queryValue(name: string, schema: Schema, hints: SchemaArbitraryOptions): fc.Arbitrary<string> {
  const asText = (value: unknown) => (typeof value === 'string' ? value : toJsonText(value));
  const valid = hints.properties?.[name] ?? validValue(schema, hints);
  return fc.oneof(
    { weight: 5, arbitrary: valid.map(asText).map(enc) },
    { weight: 1, arbitrary: validValue(schema, hints).map(asText).map(enc) },
    { weight: 2, arbitrary: invalidValue(schema, hints).map(asText).map(enc) },
    { weight: 2, arbitrary: fc.constantFrom(...TRICKY_INTEGERS).map(enc) },
    { weight: 1, arbitrary: fc.constantFrom('', '%zz', '%', '%00', '+', '%2B', 'a&b', '[]', '%E0%A4%A', '%ED%A0%80') },
  );
}

/** The query string: the operation's parameters, sometimes repeated, unknown or far too many. */
function queryString(op: Operation, hints: SchemaArbitraryOptions): fc.Arbitrary<string> {
  const inQuery = op.parameters.filter((p) => p.in === 'query');
  const params = fc.tuple(
    ...inQuery.map((p) =>
      fc.option(
        queryValue(p.name, p.schema, hints).map((value) => `${p.name}=${value}`),
        { freq: p.required ? 12 : 2 },
      ),
    ),
  );
  const names = inQuery.map((p) => p.name);
  const extra = fc.oneof(
    fc
      .tuple(fc.constantFrom(...names, 'sort', 'q', '__proto__', 'constructor', 'prototype', '__proto__[x]', 'limit[]', 'a[b]'), fc.constantFrom('1', 'x', ''))
      .map(([name, value]) => `${name}=${value}`),
    fc.constantFrom(...names, 'flag', '=', '&&', '=x'),
    junkString.map((value) => `${enc(value)}=${enc(value)}`),
  );
  return fc.oneof(
    { weight: 8, arbitrary: params.map((parts) => parts.filter((part): part is string => part !== null).join('&')) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(params, fc.array(extra, { minLength: 1, maxLength: 4 }))
        .map(([parts, extras]) => [...parts.filter((part) => part !== null), ...extras].join('&')),
    },
    { weight: 1, arbitrary: fc.integer({ min: 30, max: 60 }).map((n) => Array.from({ length: n }, (_, i) => `p${i}=${i}`).join('&')) },
  );
}

interface EncodedBody {
  body?: string;
  contentType?: string;
}

const WRONG_CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/octet-stream',
  'application/merge-patch+json',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/jsonx',
  'json',
  '*/*',
];

const NOT_JSON = [
  '{',
  '}',
  '{"title": "x",}',
  "{'title': 'x'}",
  '{"a":1}{"a":2}',
  'undefined',
  'NaN',
  '\u0000',
  '\ufeff{}',
  '{"title": "\\ud800"}',
  '[1,2',
  '"unterminated',
  'nul',
  '{"a":01}',
];

/** A body for this operation: mostly JSON from its schema (valid or broken), sometimes not JSON at all. */
function requestBody(op: Operation, hints: SchemaArbitraryOptions): fc.Arbitrary<EncodedBody> {
  const json = (value: unknown): EncodedBody => ({ body: toJsonText(value), contentType: 'application/json' });
  const schema = op.body?.schema ?? {};
  const others: fc.WeightedArbitrary<EncodedBody>[] = [
    { weight: 3, arbitrary: fc.constant({}) },
    { weight: 3, arbitrary: fc.constantFrom(...NOT_JSON).map((body) => ({ body, contentType: 'application/json' })) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(validValue(schema, hints), fc.constantFrom(...WRONG_CONTENT_TYPES, undefined))
        .map(([value, contentType]) => ({ body: toJsonText(value), contentType })),
    },
    { weight: 3, arbitrary: junkValue.map(json) },
    { weight: 3, arbitrary: fc.constantFrom(' ', '', '\n\t').map((body) => ({ body, contentType: 'application/json' })) },
    { weight: 1, arbitrary: fc.constant({ body: `{"title": "${'x'.repeat(OVERSIZED_BODY_BYTES)}"}`, contentType: 'application/json' }) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 12_000 }).map((depth) => json(rawJson(`${'['.repeat(depth)}${']'.repeat(depth)}`))) },
  ];
  if (!op.body) return fc.oneof({ weight: 60, arbitrary: fc.constant({}) }, ...others);
  return fc.oneof({ weight: 36, arbitrary: validValue(schema, hints).map(json) }, { weight: 24, arbitrary: invalidValue(schema, hints).map(json) }, ...others);
}

/** Headers besides the content type: now and then an odd request id, accept or authorization. */
const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 200 });
const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 60, arbitrary: fc.constant({}) },
  { weight: 3, arbitrary: printable.map((value) => ({ 'x-request-id': value })) },
  { weight: 3, arbitrary: fc.constantFrom('text/html', 'application/xml', '*/*', 'application/problem+json', 'image/png').map((accept) => ({ accept })) },
  { weight: 3, arbitrary: fc.constantFrom('gzip', 'br', 'identity', 'x-unknown').map((encoding) => ({ 'content-encoding': encoding })) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom('Bearer', 'Bearer ', 'Basic YTpi', 'bearer x', 'Bearer \u00ff'),
        printable.map((token) => `Bearer ${token}`),
      )
      .map((authorization) => ({ authorization })),
  },
);

function fillPath(op: Operation, ids: Ids): fc.Arbitrary<string> {
  const kind = KIND_OF_PREFIX[op.path.split('/')[1] ?? ''];
  const names = [...op.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name ?? '');
  return fc.tuple(...names.map((name) => pathSegment(name === 'overrideId' ? 'overrides' : kind, ids))).map((values) => {
    let path = op.path;
    names.forEach((name, i) => {
      path = path.replace(`{${name}}`, values[i] ?? '');
    });
    return path;
  });
}

function requestFor(op: Operation, ids: Ids, hints: SchemaArbitraryOptions): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({ path: fillPath(op, ids), query: queryString(op, hints), body: requestBody(op, hints), headers: extraHeaders })
    .map(({ path, query, body, headers }) => ({
      method: op.method,
      target: cap(`${path}${query ? `?${query}` : ''}`),
      // fetch refuses a body on GET and HEAD.
      body: op.method === 'GET' ? undefined : body.body,
      headers: { ...headers, ...(body.contentType && op.method !== 'GET' ? { 'content-type': body.contentType } : {}) },
      operation: `${op.method} ${op.path}`,
    }));
}

/** Requests off the map: a real path with a method it lacks, or a path that does not exist. */
function offRoad(operations: Operation[], ids: Ids): fc.Arbitrary<FuzzRequest> {
  const methods = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD');
  const wrongMethod = fc.oneof(
    ...operations.map((op) =>
      fc
        .tuple(fillPath(op, ids), methods)
        .map(([target, method]): FuzzRequest => ({ method, target: cap(target), headers: {}, operation: `${method} ${op.path} (any method)` })),
    ),
  );
  const unknownPath = fc
    .array(fc.oneof(junkString.map(enc), fc.constantFrom('incidents', 'users', 'v1', 'admin', '', '.well-known', ...ids.incidents)), {
      minLength: 1,
      maxLength: 4,
    })
    .map((segments): FuzzRequest => ({ method: 'GET', target: cap(`/${segments.join('/')}`), headers: {}, operation: 'GET (unknown path)' }));
  // A real path in another shape: letter case, a trailing or doubled slash, a percent-encoded letter.
  const reshaped = fc.oneof(
    ...operations.map((op) =>
      fc
        .tuple(
          fillPath(op, ids),
          fc.constantFrom<(path: string) => string>(
            (path) => path.toUpperCase(),
            (path) => path.replace(/\/(\w)/, (_, c: string) => `/${c.toUpperCase()}`),
            (path) => `${path}/`,
            (path) => path.replace('/', '//'),
            (path) => path.replace(/\/([a-z])/, (_, c: string) => `/%${c.charCodeAt(0).toString(16)}`),
          ),
        )
        .map(([path, reshape]): FuzzRequest => ({
          method: op.method,
          target: cap(reshape(path)),
          headers: {},
          operation: `${op.method} ${op.path} (reshaped)`,
        })),
    ),
  );
  return fc.oneof(wrongMethod, unknownPath, reshaped);
}

// Logs -----------------------------------------------------------------------------------

/** What Postgres says when it refuses a statement (messages and the class of SQLSTATE). */
const SQL_ERROR =
  /syntax error|violates|invalid input (syntax|value)|SQLSTATE|out of range|value too long|invalid byte sequence|malformed (array|record) literal|unterminated|(relation|column|function|operator|type) "?[^"]*"? does not exist|deadlock detected|could not serialize|null value in column|date\/time field value/i;

/** Why a log line is bad, or undefined. */
function badLogLine(line: Record<string, unknown>): string | undefined {
  if (line.level === 'error') return 'an error-level line';
  // The access line echoes the path, and so the fuzz's own junk: leave it out.
  const text = JSON.stringify({ ...line, path: undefined });
  if (SQL_ERROR.test(text)) return 'a line mentioning an SQL error';
  const code = (line.error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return `a line with SQLSTATE ${code}`;
  return undefined;
}

// The test -------------------------------------------------------------------------------

describe('fuzzing the API from its OpenAPI document', function () {
  this.timeout(300_000);
  let t: TestContext;
  let ids: Ids;

  before(async () => {
    t = await createTestContext();
    const users = [];
    for (const name of ['Ada Lovelace', 'Grace Hopper', 'Edsger Dijkstra', 'Barbara Liskov', 'Alan Kay']) users.push(await createUser(t.pool, name));
    const [ada = '', grace = '', edsger = '', barbara = ''] = users;
    const teams = [await createTeam(t.pool, 'Payments', [ada, grace]), await createTeam(t.pool, 'Search', [edsger])];
    const schedules = [await createWeeklySchedule(t.api, 'Primary', [ada, grace]), await createWeeklySchedule(t.api, 'Secondary', [barbara])];
    await insertOverride(t.pool, schedules[0] ?? '', edsger);
    const overrides = (await t.pool.query<{ id: string }>('SELECT id FROM schedule_overrides')).rows.map((row) => row.id);
    const policies = [
      await createPolicyVia(t.api, {
        name: 'Payments',
        repeat_count: 1,
        levels: [
          {
            delay: '5m',
            targets: [
              { type: 'schedule', id: schedules[0] },
              { type: 'team', id: teams[0] },
            ],
          },
          { delay: '15m', targets: [{ type: 'user', id: barbara }] },
        ],
      }),
      await createPolicyVia(t.api, { name: 'Search', levels: [{ delay: '1m', targets: [{ type: 'team', id: teams[1] }] }] }),
    ];
    const services = [await createServiceRow(t.pool, 'checkout', policies[0] ?? null), await createServiceRow(t.pool, 'search', null)];
    const onService = await t.api.post('/incidents', { title: 'checkout 5xx', service_id: services[0], escalate: true });
    expect(onService.status, onService.text).to.equal(201);
    const incidents = [String(onService.body.id)];
    for (const state of ['OPEN', 'ESCALATING', 'ACKNOWLEDGED', 'RESOLVED', 'CANCELLED'] as const) incidents.push(await incidentIn(t.api, state));
    ids = { incidents, users, teams, schedules, overrides, policies, services };
  });
  after(() => t.close());

  it(`answers ${RUNS} generated requests below 500, every 4xx a problem, with no SQL error in the logs`, async () => {
    const doc = buildOpenApiDocument(ENDPOINTS);
    const operations = operationsOf(doc);
    const hints: SchemaArbitraryOptions = { ...hintsFor(ids), root: doc };
    const request = fc.oneof(
      { weight: 20, arbitrary: fc.oneof(...operations.map((op) => requestFor(op, ids, hints))) },
      { weight: 1, arbitrary: offRoad(operations, ids) },
    );

    const byStatus = new Map<number, number>();
    /** Statuses by operation: FUZZ_VERBOSE=1 prints them, to see which answers the generators reach. */
    const byOperation = new Map<string, Record<number, number>>();
    /** Why 400s were answered, by operation (FUZZ_VERBOSE=2). */
    const refusals = new Map<string, number>();
    let sent = 0;
    /** The lane that failed: the others stop sending while it shrinks. */
    let failedLane: number | undefined;
    let scanned = 0;
    const badLines = new Map<string, string[]>();
    /** Reads the log lines written since the last call, keeping the bad ones by request id. */
    const scanLogs = () => {
      for (; scanned < t.logs.length; scanned += 1) {
        const line = t.logs[scanned] ?? {};
        const why = badLogLine(line);
        if (!why) continue;
        const key = typeof line.request_id === 'string' ? line.request_id : '(none)';
        badLines.set(key, [...(badLines.get(key) ?? []), `${why}: ${JSON.stringify(line).slice(0, 2000)}`]);
      }
    };

    const check = async (req: FuzzRequest, lane: number): Promise<void> => {
      if (failedLane !== undefined && failedLane !== lane) return;
      sent += 1;
      const res = await t.api.raw(req.method, req.target, { body: req.body, headers: req.headers });
      byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
      const statuses = byOperation.get(req.operation) ?? {};
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      byOperation.set(req.operation, statuses);
      // The Events API's refusals of an event answer in that API's shape, which its clients read
      // (src/api/endpoints/intake.ts); what the router refuses before (the query string) is a problem.
      const eventsApiRefusal =
        req.operation === 'POST /v2/enqueue' && res.status === 400 && !/^application\/problem\+json/.test(res.headers.get('content-type') ?? '');
      if (res.status === 400 && !eventsApiRefusal) {
        const problem = res.body as { code?: string; errors?: { field: string; rule: string }[] } | undefined;
        for (const reason of problem?.errors?.map((e) => `${e.field.replace(/\.\d+/g, '.N')} ${e.rule}`) ?? [problem?.code ?? '?']) {
          const key = `${req.operation}: ${reason}`;
          refusals.set(key, (refusals.get(key) ?? 0) + 1);
        }
      }
      const said = `${req.method} ${req.target.slice(0, 300)} (${req.target.length} characters; headers ${JSON.stringify(req.headers).slice(0, 300)}) -> ${res.status} ${res.text.slice(0, 500)}`;
      expect(res.status, said).to.be.below(500);
      if (eventsApiRefusal) {
        expect(res.headers.get('content-type'), said).to.match(/^application\/json/);
        const answer = res.body as { status?: unknown; errors?: unknown } | undefined;
        expect(answer?.status, said).to.equal('invalid event');
        expect(answer?.errors, said).to.be.an('array').that.is.not.empty;
      } else if (res.status >= 400 && req.method !== 'HEAD' && !pageForBrowser(req, res.headers)) {
        expect(res.headers.get('content-type'), said).to.match(/^application\/problem\+json/);
        const problem = res.body as { code?: unknown; status?: unknown } | undefined;
        expect(problem?.code, said).to.be.a('string').and.not.equal('');
        expect(problem?.status, said).to.equal(res.status);
      }
      await new Promise((resolve) => setImmediate(resolve)); // the logger writes through a stream
      scanLogs();
      const requestId = res.headers.get('x-request-id') ?? '';
      const bad = badLines.get(requestId) ?? [];
      badLines.delete(requestId); // a replay while shrinking (or a fuzzed X-Request-Id) may reuse the id
      expect(bad, `${said}\n${bad.join('\n')}`).to.deep.equal([]);
    };

    const perLane = Math.ceil(RUNS / LANES);
    const startedAt = performance.now();
    const lanes = await Promise.allSettled(
      Array.from({ length: LANES }, (_, lane) =>
        fc.assert(
          fc.asyncProperty(request, async (req) => {
            try {
              await check(req, lane);
            } catch (error) {
              failedLane ??= lane;
              throw error;
            }
          }),
          { seed: SEED + lane, numRuns: perLane },
        ),
      ),
    );
    const durationMs = Math.round(performance.now() - startedAt);
    await new Promise((resolve) => setTimeout(resolve, 50));
    scanLogs();

    const statuses = Object.fromEntries([...byStatus].sort(([a], [b]) => a - b));
    console.log(
      `      fuzz: ${sent} requests in ${durationMs} ms (${Math.round((sent / durationMs) * 1000)}/s), seed ${SEED}, ${LANES} lanes, ${operations.length} operations (+ off-road); statuses ${JSON.stringify(statuses)}; ${t.logs.length} log lines`,
    );
    if (process.env.FUZZ_VERBOSE) for (const [op, counts] of [...byOperation].sort()) console.log(`        ${op}: ${JSON.stringify(counts)}`);
    if (process.env.FUZZ_VERBOSE === '2') for (const [key, count] of [...refusals].sort()) console.log(`        ${key}: ${count}`);
    const failed = lanes.find((lane): lane is PromiseRejectedResult => lane.status === 'rejected');
    if (failed) throw failed.reason;
    expect(sent).to.be.at.least(RUNS);
    expect([...badLines].map(([requestId, lines]) => `${requestId}: ${lines.join('\n')}`)).to.deep.equal([]);
    // Every operation of the document was exercised.
    for (const op of operations) expect(byOperation.get(`${op.method} ${op.path}`), `${op.method} ${op.path}`).to.be.an('object');
  });
});

describe('what the fuzz found, pinned as examples: a 400 naming the field, not a 500', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  /** The request is a 400 validation_failed naming this field and rule; nothing stored changes; nothing is logged as an error. */
  async function expectRefused(send: () => Promise<{ status: number; text: string; body: unknown }>, field: string, rule: string): Promise<void> {
    const before = { people: await peopleState(t.pool), incidents: await storedState(t.pool) };
    const res = await send();
    expect(res.status, res.text).to.equal(400);
    const problem = res.body as { code: string; errors: { field: string; rule: string }[] };
    expect(problem.code).to.equal('validation_failed');
    expect(problem.errors.map((e) => ({ field: e.field, rule: e.rule }))).to.deep.include({ field, rule });
    expect({ people: await peopleState(t.pool), incidents: await storedState(t.pool) }).to.deep.equal(before);
    expect(t.logs.filter((line) => line.level === 'error')).to.deep.equal([]);
  }

  it('text holding U+0000, which Postgres cannot store (was 500: invalid byte sequence for encoding "UTF8": 0x00)', async () => {
    await expectRefused(() => t.api.post('/users', { name: 'Ada\u0000', email: 'ada@example.com' }), 'name', 'format');
    await expectRefused(() => t.api.post('/incidents', { title: 'disk full', note: '\u0000' }), 'note', 'format');
    const levels = [{ delay: '5m', targets: [{ type: 'user', id: UNKNOWN_ID }] }];
    await expectRefused(() => t.api.post('/escalation-policies', { name: 'Payments', description: 'a\u0000', levels }), 'description', 'format');
  });

  it('a list cursor whose name holds U+0000 (was 500 from the keyset query)', async () => {
    const cursor = Buffer.from(JSON.stringify(['\u0000', UNKNOWN_ID])).toString('base64url');
    await expectRefused(() => t.api.get(`/escalation-policies?cursor=${cursor}`), 'cursor', 'format');
  });

  it('a snooze longer than a JavaScript number holds in milliseconds (was 500: parseDuration threw)', async () => {
    const id = await incidentIn(t.api, 'ACKNOWLEDGED');
    await expectRefused(() => t.api.post(`/incidents/${id}/snooze`, { duration: '99999999999999999999h' }), 'duration', 'range');
  });
});

/** A refusal a person meets in a browser (an action link's page: src/api/problem.ts PageProblem), answered as HTML to a client that prefers it. */
function pageForBrowser(req: FuzzRequest, headers: Headers): boolean {
  const accept = Object.entries(req.headers).find(([name]) => name.toLowerCase() === 'accept')?.[1] ?? '';
  return /^text\/html/.test(headers.get('content-type') ?? '') && accept.includes('text/html') && req.target.startsWith('/actions');
}
