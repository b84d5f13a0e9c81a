/**
 * Helpers for the users, teams and services tests: PATCH and DELETE, everything stored
 * about people and services (to prove a refused request changed nothing), paging
 * through a list, and rows the other endpoints own, inserted with plain SQL.
 */
import { expect } from 'chai';
import type pg from 'pg';
import type { TestContext } from './context.ts';
import type { Api, ApiResponse } from './http.ts';

export type Json = Record<string, unknown>;

export interface Problem {
  status: number;
  code: string;
  title: string;
  detail: string;
  errors?: { field: string; rule: string; message: string }[];
  [member: string]: unknown;
}

export function patch<T = Json>(api: Api, path: string, body: unknown): Promise<ApiResponse<T>> {
  return api.raw<T>('PATCH', path, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}

export function del<T = Json>(api: Api, path: string): Promise<ApiResponse<T>> {
  return api.raw<T>('DELETE', path, {});
}

const TABLES: [table: string, orderBy: string][] = [
  ['users', 'id'],
  ['teams', 'id'],
  ['team_members', 'team_id, position'],
  ['services', 'id'],
  ['schedules', 'id'],
  ['schedule_members', 'schedule_id, position'],
  ['schedule_overrides', 'id'],
  ['escalation_policies', 'id'],
  ['escalation_policy_targets', 'policy_id, level, position'],
  ['incidents', 'id'],
];

/** Every row of the tables these endpoints read or write, or that refer to them. */
export async function peopleState(pool: pg.Pool): Promise<Record<string, unknown[]>> {
  const results = await Promise.all(TABLES.map(([table, orderBy]) => pool.query(`SELECT * FROM ${table} ORDER BY ${orderBy}`)));
  return Object.fromEntries(TABLES.map(([table], index) => [table, results[index]?.rows ?? []]));
}

/**
 * Sends a request that must be refused: checks the status, the problem's code and (if
 * given) one of its field errors, and that nothing stored changed.
 */
export async function expectRefused(
  pool: pg.Pool,
  send: () => Promise<ApiResponse<unknown>>,
  status: number,
  code: string,
  fieldError?: { field: string; rule: string },
): Promise<Problem> {
  const before = await peopleState(pool);
  const res = await send();
  const problem = res.body as Problem;
  expect(res.status, res.text).to.equal(status);
  expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
  expect(problem.code).to.equal(code);
  if (fieldError) {
    expect(
      problem.errors?.map(({ field, rule }) => ({ field, rule })),
      res.text,
    ).to.deep.include(fieldError);
  }
  expect(await peopleState(pool)).to.deep.equal(before);
  return problem;
}

/** Creates a record through the API and returns its body. */
export async function created(api: Api, path: string, body: Json): Promise<Json & { id: string }> {
  const res = await api.post<Json & { id: string }>(path, body);
  if (res.status !== 201) throw new Error(`POST ${path} failed: ${res.text}`);
  return res.body;
}

/** Every item of a list (from `cursor` on), following next_cursor, and how many pages that took. */
export async function allPages(api: Api, path: string, limit: number, from: string | null = null): Promise<{ items: Json[]; pages: number }> {
  const items: Json[] = [];
  let cursor = from;
  let pages = 0;
  do {
    const query: string = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await api.get<{ items: Json[]; next_cursor: string | null }>(`${path}${query}`);
    expect(res.status, res.text).to.equal(200);
    expect(res.body.items.length).to.be.at.most(limit);
    items.push(...res.body.items);
    cursor = res.body.next_cursor;
    pages += 1;
  } while (cursor !== null && pages < 100);
  return { items, pages };
}

/** A body a route refuses: what is wrong with it, the body, and the field and rule named. */
export type BodyCase = [name: string, body: unknown, field: string, rule: string];

/**
 * POST `path` and PATCH `path/:id` with bad bodies (these cases, and none at all): 400
 * validation_failed naming the field and rule, and nothing stored changes.
 */
export function itRefusesBadBodies(
  path: string,
  context: () => TestContext,
  cases: { create: BodyCase[]; edit: BodyCase[] },
  newRecord: () => Promise<{ id: string }>,
): void {
  const noBody: BodyCase = ['no body', undefined, '(body)', 'required'];
  for (const [name, body, field, rule] of [...cases.create, noBody]) {
    it(`POST ${path} with ${name}: 400 naming ${field} and ${rule}`, async () => {
      const t = context();
      const send = () => (body === undefined ? t.api.raw('POST', path, {}) : t.api.post(path, body));
      await expectRefused(t.pool, send, 400, 'validation_failed', { field, rule });
    });
  }
  for (const [name, body, field, rule] of [...cases.edit, noBody]) {
    it(`PATCH ${path}/:id with ${name}: 400 naming ${field} and ${rule}`, async () => {
      const t = context();
      const idPath = `${path}/${(await newRecord()).id}`;
      const send = () => (body === undefined ? t.api.raw('PATCH', idPath, {}) : patch(t.api, idPath, body));
      await expectRefused(t.pool, send, 400, 'validation_failed', { field, rule });
    });
  }
}

/**
 * `field` is unique case-insensitively: a POST or PATCH with another record's value in
 * other letter case is 409 already_exists naming the field, and changes nothing; a
 * record may change the letter case of its own value.
 */
export function itKeepsUnique(path: string, field: string, context: () => TestContext, body: (value: string) => Json, value: (word: string) => string): void {
  it(`POST with a ${field} another record has, in other letter case: 409 already_exists naming ${field}`, async () => {
    const t = context();
    await created(t.api, path, body(value('Platform')));
    const problem = await expectRefused(t.pool, () => t.api.post(path, body(value('PLATFORM'))), 409, 'already_exists');
    expect(problem.field).to.equal(field);
    expect(problem.detail).to.include(value('PLATFORM'));
  });

  it(`PATCH to another record's ${field}: 409 already_exists naming ${field}; its own in other letter case is fine`, async () => {
    const t = context();
    await created(t.api, path, body(value('Databases')));
    const own = await created(t.api, path, body(value('Networks')));
    const problem = await expectRefused(t.pool, () => patch(t.api, `${path}/${own.id}`, { [field]: value('databases') }), 409, 'already_exists');
    expect(problem.field).to.equal(field);
    const res = await patch(t.api, `${path}/${own.id}`, { [field]: value('NETWORKS') });
    expect(res.status, res.text).to.equal(200);
    expect(res.body[field]).to.equal(value('NETWORKS'));
  });
}

/**
 * The listing tests of /users, /teams and /services: by name case-insensitively, then
 * id; keyset pages of any size; a cursor that keeps its place; malformed queries.
 * Other tests' records may be listed too: only the order of these is checked.
 */
export function describeListing(path: string, context: () => TestContext, names: string[], create: (name: string) => Promise<{ id: string }>): void {
  describe(`GET ${path}`, () => {
    let t: TestContext;
    let expected: string[];
    const ours = (items: Json[]) => items.map((item) => String(item.id)).filter((id) => expected.includes(id));
    before(async () => {
      t = context();
      const records: { key: string; id: string }[] = [];
      for (const name of names) records.push({ key: name.toLowerCase(), id: (await create(name)).id });
      records.sort((a, b) => (a.key === b.key ? compare(a.id, b.id) : compare(a.key, b.key)));
      expected = records.map((record) => record.id);
    });

    it(`lists by name, case-insensitively, then id, 50 at most by default`, async () => {
      const res = await t.api.get<{ items: Json[]; next_cursor: string | null }>(path);
      expect(res.status).to.equal(200);
      expect(res.body.items.length).to.be.at.most(50);
      expect(ours(res.body.items)).to.deep.equal(expected);
      const keys = res.body.items.map((item) => String(item.name).toLowerCase());
      expect(keys).to.deep.equal([...keys].sort(compare));
    });

    for (const limit of [1, 2, 3, 200]) {
      it(`pages of ${limit} give every record once, in order`, async () => {
        const all = await allPages(t.api, path, 200);
        const { items, pages } = await allPages(t.api, path, limit);
        expect(items).to.deep.equal(all.items);
        expect(ours(items)).to.deep.equal(expected);
        expect(pages).to.equal(Math.max(1, Math.ceil(items.length / limit)));
      });
    }

    it('a cursor keeps its place when records are added before it', async () => {
      const all = await allPages(t.api, path, 200);
      const first = await t.api.get<{ items: Json[]; next_cursor: string }>(`${path}?limit=2`);
      await create('Aaa added first'); // sorts before every name of the list
      const rest = await allPages(t.api, path, 200, first.body.next_cursor);
      expect(rest.items).to.deep.equal(all.items.slice(2));
    });

    for (const [query, field, rule] of BAD_LIST_QUERIES) {
      it(`?${query.slice(0, 30)}: 400 naming ${field}`, async () => {
        await expectRefused(t.pool, () => t.api.get(`${path}?${query}`), 400, 'validation_failed', { field, rule });
      });
    }
  });
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A malformed list query is a 400 naming the parameter. */
const BAD_LIST_QUERIES: [query: string, field: string, rule: string][] = [
  ['limit=0', 'limit', 'minimum'],
  ['limit=201', 'limit', 'maximum'],
  ['limit=ten', 'limit', 'type'],
  ['cursor=not-a-cursor', 'cursor', 'format'],
  [`cursor=${Buffer.from('["x","not-a-uuid"]').toString('base64url')}`, 'cursor', 'format'],
  ['sort=name', 'sort', 'additionalProperties'],
];

export const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

/** GET, PATCH and DELETE `${path}/:id`: an unknown id is 404, one that is not a UUID 400 (not 404 or 500). */
export function itRefusesUnknownAndMalformedIds(path: string, resource: string, context: () => TestContext): void {
  const sends = (api: Api, idPath: string) => [() => api.get(idPath), () => patch(api, idPath, { name: 'x' }), () => del(api, idPath)];

  it('an unknown id is 404 not_found for GET, PATCH and DELETE', async () => {
    const t = context();
    for (const send of sends(t.api, `${path}/${UNKNOWN_ID}`)) {
      const problem = await expectRefused(t.pool, send, 404, 'not_found');
      expect(problem.detail).to.equal(`${resource} ${UNKNOWN_ID} does not exist`);
    }
  });

  for (const badId of ['123', 'not-a-uuid', '00000000-0000-4000-8000-00000000000g', "1' OR '1'='1"]) {
    it(`a malformed id (${JSON.stringify(badId)}) is 400 for GET, PATCH and DELETE`, async () => {
      const t = context();
      for (const send of sends(t.api, `${path}/${encodeURIComponent(badId)}`)) {
        await expectRefused(t.pool, send, 400, 'validation_failed', { field: 'id', rule: 'format' });
      }
    });
  }
}

// Rows owned by the schedules and escalation-policies endpoints ----------------------------

export async function insertSchedule(pool: pg.Pool, name: string, rotation: string[]): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO schedules (name, time_zone, shift_length, shift_unit, handoff_time, start_date)
     VALUES ($1, 'UTC', 1, 'weeks', '09:00', '2026-01-05') RETURNING id`,
    [name],
  );
  const id = String(rows[0]?.id);
  await pool.query(
    `INSERT INTO schedule_members (schedule_id, position, user_id)
     SELECT $1, ordinality - 1, user_id FROM unnest($2::uuid[]) WITH ORDINALITY AS r (user_id, ordinality)`,
    [id, rotation],
  );
  return id;
}

export async function insertOverride(pool: pg.Pool, scheduleId: string, userId: string): Promise<void> {
  await pool.query(
    `INSERT INTO schedule_overrides (schedule_id, user_id, starts_at, ends_at)
     VALUES ($1, $2, '2026-03-02T09:00Z', '2026-03-03T09:00Z')`,
    [scheduleId, userId],
  );
}

/** A one-level escalation policy paging these targets. */
export async function insertPolicy(pool: pg.Pool, name: string, targets: { type: 'user' | 'team'; id: string }[]): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO escalation_policies (name) VALUES ($1) RETURNING id`, [name]);
  const id = String(rows[0]?.id);
  await pool.query(`INSERT INTO escalation_policy_levels (policy_id, level, delay_ms) VALUES ($1, 1, 60000)`, [id]);
  for (const [position, target] of targets.entries()) {
    await pool.query(
      `INSERT INTO escalation_policy_targets (policy_id, level, position, target_type, user_id, team_id)
       VALUES ($1, 1, $2, $3, $4, $5)`,
      [id, position, target.type, target.type === 'user' ? target.id : null, target.type === 'team' ? target.id : null],
    );
  }
  return id;
}

/** An OPEN incident of the service, created at `createdAt` (default: the database's now). */
export async function insertIncident(pool: pg.Pool, serviceId: string, title: string, createdAt?: Date): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO incidents (title, severity, state, service_id, created_at) VALUES ($1, 'error', 'OPEN', $2, coalesce($3::timestamptz, now())) RETURNING id`,
    [title, serviceId, createdAt ?? null],
  );
  return String(rows[0]?.id);
}
