/**
 * /users/:id/notification-rules (issue 11): which contact method is used how long after
 * a page; and the stop-paging notices each person may turn off (PATCH /users/:id).
 */
import { expect } from 'chai';
import type pg from 'pg';
import { createToken } from '../../src/commands/tokens.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createTeam, createUser } from '../support/factories.ts';
import type { ApiResponse } from '../support/http.ts';
import { type Json, type Problem, del, patch } from '../support/people.ts';

async function stored(pool: pg.Pool) {
  const [rules, users] = await Promise.all([pool.query('SELECT * FROM notification_rules ORDER BY id'), pool.query('SELECT * FROM users ORDER BY id')]);
  return JSON.stringify({ rules: rules.rows, users: users.rows });
}

describe('notification rules API', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  async function expectRefused(send: () => Promise<ApiResponse<unknown>>, status: number, code: string, fieldError?: { field: string; rule: string }) {
    const before = await stored(t.pool);
    const res = await send();
    expect(res.status, res.text).to.equal(status);
    expect((res.body as Problem).code, res.text).to.equal(code);
    if (fieldError)
      expect(
        (res.body as Problem).errors?.map(({ field, rule }) => ({ field, rule })),
        res.text,
      ).to.deep.include(fieldError);
    expect(await stored(t.pool)).to.equal(before);
    return res.body as Problem;
  }

  const methodsOf = async (user: string) => (await t.api.get<{ items: (Json & { id: string; kind: string })[] }>(`/users/${user}/contact-methods`)).body.items;
  const rulesOf = async (user: string) => (await t.api.get<{ items: Json[] }>(`/users/${user}/notification-rules`)).body.items;

  it('a person starts with no rules (every usable method at once)', async () => {
    const user = await createUser(t.pool, 'Fresh');
    const res = await t.api.get(`/users/${user}/notification-rules`);
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ items: [] });
  });

  it('POST adds a rule (201, Location); the list is by delay; 0s is at once and 24h the latest', async () => {
    const user = await createUser(t.pool, 'Ruled');
    const sms = await t.api.post<{ id: string }>(`/users/${user}/contact-methods`, { kind: 'sms', address: '+4915112345678' });
    const [, email] = await methodsOf(user);
    const later = await t.api.post(`/users/${user}/notification-rules`, { contact_method_id: sms.body.id, delay: '5m' });
    expect(later.status, later.text).to.equal(201);
    expect(later.headers.get('location')).to.equal(`/users/${user}/notification-rules/${String(later.body.id)}`);
    expect(later.body).to.deep.include({ user_id: user, contact_method_id: sms.body.id, contact_method_kind: 'sms', delay: '5m', delay_ms: 300_000 });
    const now = await t.api.post(`/users/${user}/notification-rules`, { contact_method_id: email?.id, delay: '0s' });
    const last = await t.api.post(`/users/${user}/notification-rules`, { contact_method_id: email?.id, delay: '24h' });
    expect(last.body).to.include({ delay: '1d', delay_ms: 86_400_000 });
    expect((await rulesOf(user)).map((r) => [r.contact_method_kind, r.delay])).to.deep.equal([
      ['email', '0s'],
      ['sms', '5m'],
      ['email', '1d'],
    ]);
    expect(now.body.delay_ms).to.equal(0);
  });

  it('the same method and delay twice: 409 already_exists (60s and 1m are the same delay)', async () => {
    const user = await createUser(t.pool, 'Twice');
    const [inApp] = await methodsOf(user);
    expect((await t.api.post(`/users/${user}/notification-rules`, { contact_method_id: inApp?.id, delay: '1m' })).status).to.equal(201);
    await expectRefused(() => t.api.post(`/users/${user}/notification-rules`, { contact_method_id: inApp?.id, delay: '60s' }), 409, 'already_exists');
  });

  it("another person's method, a disabled one, or none: 422 naming contact_method_id", async () => {
    const ada = await createUser(t.pool, 'Ada');
    const bob = await createUser(t.pool, 'Bob');
    const [adaInApp, adaEmail] = await methodsOf(ada);
    await expectRefused(() => t.api.post(`/users/${bob}/notification-rules`, { contact_method_id: adaInApp?.id, delay: '0s' }), 422, 'reference_not_found', {
      field: 'contact_method_id',
      rule: 'exists',
    });
    expect((await del(t.api, `/users/${ada}/contact-methods/${adaEmail?.id}`)).status).to.equal(204);
    await expectRefused(() => t.api.post(`/users/${ada}/notification-rules`, { contact_method_id: adaEmail?.id, delay: '0s' }), 422, 'reference_not_found');
    await expectRefused(
      () => t.api.post(`/users/${ada}/notification-rules`, { contact_method_id: '00000000-0000-4000-8000-000000000000', delay: '0s' }),
      422,
      'reference_not_found',
    );
  });

  it('DELETE removes a rule (204); again, or through another person: 404', async () => {
    const user = await createUser(t.pool, 'Deleter');
    const other = await createUser(t.pool, 'Other');
    const [inApp] = await methodsOf(user);
    const rule = await t.api.post<{ id: string }>(`/users/${user}/notification-rules`, { contact_method_id: inApp?.id, delay: '0s' });
    await expectRefused(() => del(t.api, `/users/${other}/notification-rules/${rule.body.id}`), 404, 'not_found');
    expect((await del(t.api, `/users/${user}/notification-rules/${rule.body.id}`)).status).to.equal(204);
    expect(await rulesOf(user)).to.deep.equal([]);
    await expectRefused(() => del(t.api, `/users/${user}/notification-rules/${rule.body.id}`), 404, 'not_found');
  });

  it('a rule notifications came from can be deleted (they keep their row, rule_id null); so can its method be disabled', async () => {
    const user = await createUser(t.pool, 'Referenced');
    const [inApp, email] = await methodsOf(user);
    const rule = await t.api.post<{ id: string }>(`/users/${user}/notification-rules`, { contact_method_id: inApp?.id, delay: '0s' });
    const other = await t.api.post<{ id: string }>(`/users/${user}/notification-rules`, { contact_method_id: email?.id, delay: '0s' });
    const insert = (key: string, method: string | undefined, ruleId: string) =>
      t.pool.query(
        `INSERT INTO notifications (idempotency_key, type, user_id, contact_method_id, rule_id, channel, destination, due_at, next_attempt_at)
         VALUES ($1, 'verification', $2, $3, $4, 'in_app', '', now(), now())`,
        [key, user, method, ruleId],
      );
    await insert(`ref:${rule.body.id}`, inApp?.id, rule.body.id);
    await insert(`ref:${other.body.id}`, email?.id, other.body.id);
    expect((await del(t.api, `/users/${user}/notification-rules/${rule.body.id}`)).status).to.equal(204);
    expect((await del(t.api, `/users/${user}/contact-methods/${email?.id}`)).status).to.equal(204);
    const rows = await t.pool.query<{ rule_id: string | null }>('SELECT rule_id FROM notifications WHERE user_id = $1', [user]);
    expect(rows.rows).to.deep.equal([{ rule_id: null }, { rule_id: null }]);
  });

  it('an unknown person: 404', async () => {
    await expectRefused(() => t.api.get('/users/00000000-0000-4000-8000-000000000000/notification-rules'), 404, 'not_found');
  });

  describe('bad bodies: 400 naming the field and rule', () => {
    let user: string;
    let method: string;
    before(async () => {
      user = await createUser(t.pool, 'Bad');
      method = String((await methodsOf(user))[0]?.id);
    });
    const cases: [string, (method: string) => unknown, string, string][] = [
      ['no contact method', () => ({ delay: '0s' }), 'contact_method_id', 'required'],
      ['a malformed contact method id', () => ({ contact_method_id: 'x', delay: '0s' }), 'contact_method_id', 'format'],
      ['no delay', (m) => ({ contact_method_id: m }), 'delay', 'required'],
      ['a delay over 24h', (m) => ({ contact_method_id: m, delay: '25h' }), 'delay', 'range'],
      ['a delay of 2d', (m) => ({ contact_method_id: m, delay: '2d' }), 'delay', 'range'],
      ['a delay under a second', (m) => ({ contact_method_id: m, delay: '500ms' }), 'delay', 'range'],
      ['a delay without unit', (m) => ({ contact_method_id: m, delay: '5' }), 'delay', 'pattern'],
      ['a numeric delay', (m) => ({ contact_method_id: m, delay: 300 }), 'delay', 'type'],
      ['a huge delay', (m) => ({ contact_method_id: m, delay: `${'9'.repeat(400)}s` }), 'delay', 'maxLength'],
      ['a delay too large to be a number', (m) => ({ contact_method_id: m, delay: `${'9'.repeat(19)}d` }), 'delay', 'range'],
      ['a delay with a control character', (m) => ({ contact_method_id: m, delay: '5m\n' }), 'delay', 'pattern'],
      ['an unknown field', (m) => ({ contact_method_id: m, delay: '0s', urgency: 'high' }), 'urgency', 'additionalProperties'],
    ];
    for (const [name, body, field, rule] of cases) {
      it(`${name}: 400 naming ${field} and ${rule}`, async () => {
        await expectRefused(() => t.api.post(`/users/${user}/notification-rules`, body(method)), 400, 'validation_failed', { field, rule });
      });
    }
  });

  it("who may: read reads them; only an organisation-wide admin adds or deletes (write and a team's admin: 403)", async () => {
    const user = await createUser(t.pool, 'Guarded');
    const team = await createTeam(t.pool, 'guarded team', [user]);
    const [inApp] = await methodsOf(user);
    const as = async (scopes: ('read' | 'write' | 'admin')[], teamId: string | null) =>
      t.api.as((await createToken(t.deps, { name: scopes.join('+'), scopes, teamId, expiresAt: null }, { via: 'test' })).token);
    expect((await (await as(['read'], team)).get(`/users/${user}/notification-rules`)).status).to.equal(200);
    for (const api of [await as(['write'], null), await as(['admin'], team)]) {
      await expectRefused(() => api.post(`/users/${user}/notification-rules`, { contact_method_id: inApp?.id, delay: '0s' }), 403, 'insufficient_scope');
    }
  });

  describe('the stop-paging notices (PATCH /users/:id)', () => {
    it('both are on by default, shown with the person; PATCH turns one off and leaves the other', async () => {
      const created = await t.api.post('/users', { name: 'Quiet', email: 'quiet@example.com' });
      expect(created.body).to.include({ notify_on_acknowledged: true, notify_on_resolved: true });
      const res = await patch(t.api, `/users/${String(created.body.id)}`, { notify_on_resolved: false });
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.include({ notify_on_acknowledged: true, notify_on_resolved: false });
      const row = await t.pool.query('SELECT notify_on_acknowledged, notify_on_resolved FROM users WHERE id = $1', [created.body.id]);
      expect(row.rows[0]).to.deep.equal({ notify_on_acknowledged: true, notify_on_resolved: false });
    });

    it('may be set when the person is created', async () => {
      const created = await t.api.post('/users', { name: 'Silent', email: 'silent@example.com', notify_on_acknowledged: false });
      expect(created.status, created.text).to.equal(201);
      expect(created.body).to.include({ notify_on_acknowledged: false, notify_on_resolved: true });
    });

    it('a non-boolean is 400 naming the field', async () => {
      const user = await createUser(t.pool, 'Typed');
      for (const value of ['false', 0, null]) {
        await expectRefused(() => patch(t.api, `/users/${user}`, { notify_on_acknowledged: value }), 400, 'validation_failed', {
          field: 'notify_on_acknowledged',
          rule: 'type',
        });
      }
    });
  });
});
