/**
 * /users/:id/contact-methods (issue 11): the methods every person starts with, adding,
 * editing and disabling methods, the address rules of each kind, and the verification
 * of sms and voice numbers by a code sent through the outbox.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import type pg from 'pg';
import { createToken } from '../../src/commands/tokens.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createTeam, createUser } from '../support/factories.ts';
import type { Api, ApiResponse } from '../support/http.ts';
import { type Json, type Problem, del, patch } from '../support/people.ts';

/** Everything these endpoints write. */
async function notificationState(pool: pg.Pool) {
  const [methods, rules, notifications, users] = await Promise.all([
    pool.query('SELECT * FROM contact_methods ORDER BY id'),
    pool.query('SELECT * FROM notification_rules ORDER BY id'),
    pool.query('SELECT * FROM notifications ORDER BY id'),
    pool.query('SELECT * FROM users ORDER BY id'),
  ]);
  return { methods: methods.rows, rules: rules.rows, notifications: notifications.rows, users: users.rows };
}

async function expectRefused(
  t: TestContext,
  send: () => Promise<ApiResponse<unknown>>,
  status: number,
  code: string,
  fieldError?: { field: string; rule: string },
): Promise<Problem> {
  const before = await notificationState(t.pool);
  const res = await send();
  const problem = res.body as Problem;
  expect(res.status, res.text).to.equal(status);
  expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
  expect(problem.code, res.text).to.equal(code);
  if (fieldError)
    expect(
      problem.errors?.map(({ field, rule }) => ({ field, rule })),
      res.text,
    ).to.deep.include(fieldError);
  const after = await notificationState(t.pool);
  for (const table of Object.keys(before) as (keyof typeof before)[]) expect(JSON.stringify(after[table]), table).to.equal(JSON.stringify(before[table]));
  return problem;
}

type Method = Json & { id: string; kind: string; address: string; position: number; verified: boolean };

describe('contact methods API', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  const methodsOf = async (userId: string, api: Api = t.api) => {
    const res = await api.get<{ items: Method[] }>(`/users/${userId}/contact-methods`);
    expect(res.status, res.text).to.equal(200);
    return res.body.items;
  };
  const add = async (userId: string, body: Json): Promise<Method> => {
    const res = await t.api.post<Method>(`/users/${userId}/contact-methods`, body);
    expect(res.status, res.text).to.equal(201);
    return res.body;
  };

  describe('the methods every person starts with', () => {
    it('a user made through the API has in_app (position 0) and e-mail (position 1), both verified', async () => {
      const user = await t.api.post('/users', { name: 'Grace', email: 'grace@example.com' });
      const methods = await methodsOf(String(user.body.id));
      expect(methods.map((m) => [m.kind, m.address, m.position, m.verified])).to.deep.equal([
        ['in_app', '', 0, true],
        ['email', 'grace@example.com', 1, true],
      ]);
    });

    it('the in_app method cannot be disabled: 409 default_method', async () => {
      const user = await createUser(t.pool, 'Keeper');
      const [inApp] = await methodsOf(user);
      const problem = await expectRefused(t, () => del(t.api, `/users/${user}/contact-methods/${inApp?.id}`), 409, 'default_method');
      expect(problem.detail).to.match(/cannot be disabled/);
    });

    it('the in_app kind cannot be added', async () => {
      const user = await createUser(t.pool, 'Twice');
      await expectRefused(t, () => t.api.post(`/users/${user}/contact-methods`, { kind: 'in_app', address: '' }), 400, 'validation_failed', {
        field: 'kind',
        rule: 'in_app_builtin',
      });
    });
  });

  describe('add, read, edit, disable', () => {
    it('POST adds a method last, with its Location; GET reads it; kinds other than sms and voice are verified at once', async () => {
      // Made through the API: its default methods' ages come from the test clock, like the new ones'.
      const user = String((await t.api.post('/users', { name: 'Adder', email: 'adder@example.com' })).body.id);
      const res = await t.api.post<Method>(`/users/${user}/contact-methods`, {
        kind: 'webhook',
        address: 'https://hooks.example.com/k?x=1',
        label: 'pager hook',
      });
      expect(res.status, res.text).to.equal(201);
      expect(res.headers.get('location')).to.equal(`/users/${user}/contact-methods/${res.body.id}`);
      expect(res.body).to.deep.include({
        user_id: user,
        kind: 'webhook',
        address: 'https://hooks.example.com/k?x=1',
        label: 'pager hook',
        position: 2,
        verified: true,
        verified_at: '2026-03-01T09:00:00.000Z',
        verification_expires_at: null,
      });
      expect((await t.api.get(`/users/${user}/contact-methods/${res.body.id}`)).body).to.deep.equal(res.body);
      t.clock.advance(1000);
      const sms = await add(user, { kind: 'sms', address: '+4915112345678', position: 0 });
      expect(sms).to.include({ position: 0, verified: false, verified_at: null });
      // Fallback order: position, then age.
      expect((await methodsOf(user)).map((m) => m.kind)).to.deep.equal(['in_app', 'sms', 'email', 'webhook']);
    });

    it('every kind with a valid address is accepted', async () => {
      const user = await createUser(t.pool, 'Every Kind');
      const valid: [string, string][] = [
        ['email', 'ops+pager@sub.example.co.uk'],
        ['sms', '+14155550123'],
        ['voice', '+14155550123'],
        ['slack', 'U024BE7LH'],
        ['slack', 'W012A3CDE'],
        ['teams', 'https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=xyz'],
        ['webhook', 'http://127.0.0.1:8080/hook'],
        ['webhook', 'http://localhost/hook'],
        ['webhook', 'http://[::1]:9000/'],
      ];
      for (const [kind, address] of valid) {
        const res = await t.api.post(`/users/${user}/contact-methods`, { kind, address });
        expect(res.status, `${kind} ${address}: ${res.text}`).to.equal(201);
      }
    });

    it('PATCH changes the fields given; a null label clears it', async () => {
      const user = await createUser(t.pool, 'Editor');
      const hook = await add(user, { kind: 'webhook', address: 'https://a.example.com/', label: 'A' });
      t.clock.advance(1000);
      const res = await patch<Method>(t.api, `/users/${user}/contact-methods/${hook.id}`, { address: 'https://b.example.com/', position: 7 });
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.deep.equal({ ...hook, address: 'https://b.example.com/', position: 7, updated_at: t.clock.now().toISOString() });
      const cleared = await patch<Method>(t.api, `/users/${user}/contact-methods/${hook.id}`, { label: null });
      expect(cleared.body.label).to.equal(null);
    });

    it('a new sms number must be verified again; a new label keeps it verified', async () => {
      const user = await createUser(t.pool, 'Mover');
      const sms = await add(user, { kind: 'sms', address: '+4915100000001' });
      await t.ownerPool.query('UPDATE contact_methods SET verified_at = $2 WHERE id = $1', [sms.id, t.clock.now()]);
      const relabelled = await patch<Method>(t.api, `/users/${user}/contact-methods/${sms.id}`, { label: 'work phone' });
      expect(relabelled.body.verified).to.equal(true);
      const same = await patch<Method>(t.api, `/users/${user}/contact-methods/${sms.id}`, { address: '+4915100000001' });
      expect(same.body.verified, 'the same number again').to.equal(true);
      const moved = await patch<Method>(t.api, `/users/${user}/contact-methods/${sms.id}`, { address: '+4915100000002' });
      expect(moved.status, moved.text).to.equal(200);
      expect(moved.body).to.include({ verified: false, verified_at: null, address: '+4915100000002' });
    });

    it('DELETE disables: the row stays, the method disappears from lists and reads, its rules go; the address may be added again', async () => {
      const user = await createUser(t.pool, 'Disabler');
      const hook = await add(user, { kind: 'webhook', address: 'https://gone.example.com/' });
      const rule = await t.api.post(`/users/${user}/notification-rules`, { contact_method_id: hook.id, delay: '0s' });
      expect(rule.status, rule.text).to.equal(201);
      t.clock.advance(5000);
      const res = await del(t.api, `/users/${user}/contact-methods/${hook.id}`);
      expect(res.status, res.text).to.equal(204);
      const row = await t.pool.query<{ disabled_at: Date }>('SELECT disabled_at FROM contact_methods WHERE id = $1', [hook.id]);
      expect(row.rows[0]?.disabled_at).to.deep.equal(t.clock.now());
      expect((await methodsOf(user)).map((m) => m.id)).to.not.include(hook.id);
      expect((await t.api.get(`/users/${user}/contact-methods/${hook.id}`)).status).to.equal(404);
      expect((await del(t.api, `/users/${user}/contact-methods/${hook.id}`)).status, 'disabling twice').to.equal(404);
      expect((await t.pool.query('SELECT 1 FROM notification_rules WHERE contact_method_id = $1', [hook.id])).rowCount).to.equal(0);
      const again = await t.api.post(`/users/${user}/contact-methods`, { kind: 'webhook', address: 'https://gone.example.com/' });
      expect(again.status, again.text).to.equal(201);
    });

    it('the same kind and address twice, in any letter case: 409 already_exists naming address', async () => {
      const user = await createUser(t.pool, 'Twin');
      await add(user, { kind: 'email', address: 'twin@example.com' });
      const problem = await expectRefused(
        t,
        () => t.api.post(`/users/${user}/contact-methods`, { kind: 'email', address: 'TWIN@example.com' }),
        409,
        'already_exists',
      );
      expect(problem.field).to.equal('address');
      const other = await add(user, { kind: 'email', address: 'other@example.com' });
      await expectRefused(t, () => patch(t.api, `/users/${user}/contact-methods/${other.id}`, { address: 'Twin@Example.com' }), 409, 'already_exists');
    });

    it("another person's method, an unknown method and an unknown person: 404", async () => {
      const ada = await createUser(t.pool, 'Ada');
      const bob = await createUser(t.pool, 'Bob');
      const [adaInApp] = await methodsOf(ada);
      await expectRefused(t, () => t.api.get(`/users/${bob}/contact-methods/${adaInApp?.id}`), 404, 'not_found');
      await expectRefused(t, () => patch(t.api, `/users/${bob}/contact-methods/${adaInApp?.id}`, { label: 'x' }), 404, 'not_found');
      await expectRefused(t, () => t.api.get(`/users/${bob}/contact-methods/00000000-0000-4000-8000-000000000000`), 404, 'not_found');
      await expectRefused(t, () => t.api.get('/users/00000000-0000-4000-8000-000000000000/contact-methods'), 404, 'not_found');
      await expectRefused(
        t,
        () => t.api.post('/users/00000000-0000-4000-8000-000000000000/contact-methods', { kind: 'sms', address: '+14155550123' }),
        404,
        'not_found',
      );
    });
  });

  describe('bad input: 400 naming the field and rule, nothing stored changes', () => {
    let user: string;
    let hook: Method;
    before(async () => {
      user = await createUser(t.pool, 'Bad Input');
      hook = await add(user, { kind: 'webhook', address: 'https://ok.example.com/' });
    });
    const createCases: [string, unknown, string, string][] = [
      ['no kind', { address: '+14155550123' }, 'kind', 'required'],
      ['an unknown kind', { kind: 'pigeon', address: 'x' }, 'kind', 'enum'],
      ['no address', { kind: 'sms' }, 'address', 'required'],
      ['a numeric address', { kind: 'sms', address: 4915112345678 }, 'address', 'type'],
      ['an sms number without +', { kind: 'sms', address: '4915112345678' }, 'address', 'e164'],
      ['a voice number too long', { kind: 'voice', address: '+1234567890123456' }, 'address', 'e164'],
      ['an sms number with a newline', { kind: 'sms', address: '+14155550123\n' }, 'address', 'e164'],
      ['an e-mail without a domain', { kind: 'email', address: 'ada@' }, 'address', 'email'],
      ['an e-mail with a control character', { kind: 'email', address: 'ada\u0007@example.com' }, 'address', 'email'],
      ['an e-mail over 320 characters', { kind: 'email', address: `${'a'.repeat(320)}@example.com` }, 'address', 'maxLength'],
      ['a lower-case Slack id', { kind: 'slack', address: 'u024be7lh' }, 'address', 'slack_member_id'],
      ['a Slack channel id', { kind: 'slack', address: 'C024BE7LH' }, 'address', 'slack_member_id'],
      ['an http webhook to another host', { kind: 'webhook', address: 'http://hooks.example.com/' }, 'address', 'https'],
      ['a webhook that is not a URL', { kind: 'webhook', address: 'hooks.example.com' }, 'address', 'url'],
      ['a webhook with credentials', { kind: 'webhook', address: 'https://user:pw@hooks.example.com/' }, 'address', 'url_credentials'],
      ['a teams URL with a space', { kind: 'teams', address: 'https://x.example.com/a b' }, 'address', 'url'],
      ['a javascript: URL', { kind: 'teams', address: 'javascript:alert(1)' }, 'address', 'https'],
      ['a huge address', { kind: 'webhook', address: `https://x.example.com/${'a'.repeat(5000)}` }, 'address', 'maxLength'],
      ['an empty label', { kind: 'sms', address: '+14155550123', label: '' }, 'label', 'minLength'],
      ['a blank label', { kind: 'sms', address: '+14155550123', label: '   ' }, 'label', 'pattern'],
      ['a label with a control character', { kind: 'sms', address: '+14155550123', label: 'a\u001bb' }, 'label', 'pattern'],
      ['a label over 200 characters', { kind: 'sms', address: '+14155550123', label: 'l'.repeat(201) }, 'label', 'maxLength'],
      ['a negative position', { kind: 'sms', address: '+14155550123', position: -1 }, 'position', 'minimum'],
      ['a position over 1000', { kind: 'sms', address: '+14155550123', position: 1001 }, 'position', 'maximum'],
      ['a fractional position', { kind: 'sms', address: '+14155550123', position: 1.5 }, 'position', 'type'],
      ['a huge position', { kind: 'sms', address: '+14155550123', position: 1e308 }, 'position', 'maximum'],
      ['an unknown field', { kind: 'sms', address: '+14155550123', verified: true }, 'verified', 'additionalProperties'],
    ];
    for (const [name, body, field, rule] of createCases) {
      it(`POST with ${name}: 400 naming ${field} and ${rule}`, async () => {
        await expectRefused(t, () => t.api.post(`/users/${user}/contact-methods`, body), 400, 'validation_failed', { field, rule });
      });
    }
    const editCases: [string, unknown, string, string][] = [
      ['an empty body', {}, '(body)', 'minProperties'],
      ['a kind (it never changes)', { kind: 'sms' }, 'kind', 'additionalProperties'],
      ['an http address', { address: 'http://example.com/' }, 'address', 'https'],
      ['a null address', { address: null }, 'address', 'type'],
      ['a string position', { position: '3' }, 'position', 'type'],
    ];
    for (const [name, body, field, rule] of editCases) {
      it(`PATCH with ${name}: 400 naming ${field} and ${rule}`, async () => {
        await expectRefused(t, () => patch(t.api, `/users/${user}/contact-methods/${hook.id}`, body), 400, 'validation_failed', { field, rule });
      });
    }
    it('PATCH an in_app method with an address: 400 naming address', async () => {
      const [inApp] = await methodsOf(user);
      await expectRefused(t, () => patch(t.api, `/users/${user}/contact-methods/${inApp?.id}`, { address: 'x@example.com' }), 400, 'validation_failed', {
        field: 'address',
        rule: 'in_app',
      });
    });
    it('a NaN or Infinity position is not JSON: 400 invalid_json', async () => {
      for (const value of ['NaN', 'Infinity']) {
        const res = await t.api.raw('POST', `/users/${user}/contact-methods`, {
          body: `{"kind":"sms","address":"+14155550123","position":${value}}`,
          headers: { 'content-type': 'application/json' },
        });
        expect(res.status).to.equal(400);
        expect(res.body.code).to.equal('invalid_json');
      }
    });
  });

  describe('who may', () => {
    let user: string;
    let readOwn: Api;
    let writeOwn: Api;
    let adminOfTeam: Api;
    before(async () => {
      user = await createUser(t.pool, 'Scoped');
      const team = await createTeam(t.pool, 'scoped team', [user]);
      const token = async (scopes: ('read' | 'write' | 'admin')[], teamId: string | null) =>
        t.api.as((await createToken(t.deps, { name: `${scopes.join('+')}`, scopes, teamId, expiresAt: null }, { via: 'test' })).token);
      readOwn = await token(['read'], null);
      writeOwn = await token(['write'], null);
      adminOfTeam = await token(['admin'], team);
    });

    it('any token with read reads them, a team token too (as it reads the person)', async () => {
      expect((await methodsOf(user, readOwn)).length).to.equal(2);
      expect((await methodsOf(user, adminOfTeam)).length).to.equal(2);
    });

    it("only an organisation-wide admin changes them: write is 403, a team's admin is 403", async () => {
      const body = { kind: 'webhook', address: 'https://attacker.example.com/' };
      for (const api of [readOwn, writeOwn, adminOfTeam]) {
        await expectRefused(t, () => api.post(`/users/${user}/contact-methods`, body), 403, 'insufficient_scope');
      }
      const [, email] = await methodsOf(user);
      await expectRefused(t, () => del(adminOfTeam, `/users/${user}/contact-methods/${email?.id}`), 403, 'insufficient_scope');
      await expectRefused(t, () => adminOfTeam.post(`/users/${user}/contact-methods/${email?.id}/verification`), 403, 'insufficient_scope');
    });
  });

  describe('verification of sms and voice numbers', () => {
    const verification = (user: string, id: string) => `/users/${user}/contact-methods/${id}/verification`;
    /** The code the outbox row carries (what the notifier sends). */
    async function sentCodes(methodId: string) {
      const rows = await t.pool.query<{
        payload: { code: string };
        idempotency_key: string;
        channel: string;
        destination: string;
        status: string;
        due_at: Date;
      }>(
        `SELECT payload, idempotency_key, channel, destination, status, due_at FROM notifications
          WHERE contact_method_id = $1 AND type = 'verification' ORDER BY created_at`,
        [methodId],
      );
      return rows.rows;
    }

    it('POST .../verification writes the code to the outbox (hash stored, not the code); the right code verifies', async () => {
      const user = await createUser(t.pool, 'Verifier');
      const sms = await add(user, { kind: 'sms', address: '+4915112340000' });
      const res = await t.api.post<Method>(verification(user, sms.id));
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.include({ verified: false, verification_expires_at: new Date(t.clock.now().getTime() + 10 * 60_000).toISOString() });
      const [sent] = await sentCodes(sms.id);
      expect(sent).to.deep.include({ idempotency_key: `verification:${sms.id}:1`, channel: 'sms', destination: '+4915112340000', status: 'PENDING' });
      expect(sent?.due_at).to.deep.equal(t.clock.now());
      const code = String(sent?.payload.code);
      expect(code).to.match(/^[0-9]{6}$/);
      const stored = await t.pool.query('SELECT verification_code_hash, verification_attempts FROM contact_methods WHERE id = $1', [sms.id]);
      expect(stored.rows[0]).to.deep.equal({ verification_code_hash: createHash('sha256').update(code).digest('hex'), verification_attempts: 0 });

      t.clock.advance(60_000);
      const confirmed = await t.api.post<Method>(`${verification(user, sms.id)}/confirm`, { code });
      expect(confirmed.status, confirmed.text).to.equal(200);
      expect(confirmed.body).to.include({ verified: true, verified_at: t.clock.now().toISOString(), verification_expires_at: null });
      // Spent: nothing more to confirm or send.
      await expectRefused(t, () => t.api.post(`${verification(user, sms.id)}/confirm`, { code }), 409, 'already_verified');
      await expectRefused(t, () => t.api.post(verification(user, sms.id)), 409, 'already_verified');
    });

    it('wakes the notifiers: NOTIFY klaxon_notifications at commit', async () => {
      const user = await createUser(t.pool, 'Woken');
      const voice = await add(user, { kind: 'voice', address: '+4915112340001' });
      const listener = await t.pool.connect();
      try {
        await listener.query('LISTEN klaxon_notifications');
        const heard = new Promise<string>((resolve) => listener.once('notification', (message: { channel: string }) => resolve(message.channel)));
        expect((await t.api.post(verification(user, voice.id))).status).to.equal(200);
        expect(await heard).to.equal('klaxon_notifications');
        expect((await sentCodes(voice.id))[0]?.channel).to.equal('voice');
      } finally {
        await listener.query('UNLISTEN *');
        listener.release();
      }
    });

    it('a second code within a minute: 429 with Retry-After; after a minute a new code, the old one no longer works', async () => {
      const user = await createUser(t.pool, 'Impatient');
      const sms = await add(user, { kind: 'sms', address: '+4915112340002' });
      expect((await t.api.post(verification(user, sms.id))).status).to.equal(200);
      t.clock.advance(20_000);
      const res = await t.api.post(verification(user, sms.id));
      expect(res.status, res.text).to.equal(429);
      expect(res.body.code).to.equal('verification_too_soon');
      expect(res.headers.get('retry-after')).to.equal('40');
      expect(await sentCodes(sms.id)).to.have.lengthOf(1);
      t.clock.advance(40_000);
      expect((await t.api.post(verification(user, sms.id))).status).to.equal(200);
      const [first, second] = await sentCodes(sms.id);
      expect(second?.idempotency_key).to.equal(`verification:${sms.id}:2`);
      if (first?.payload.code !== second?.payload.code) {
        // (A wrong guess is counted: stored state changes on purpose.)
        const stale = await t.api.post(`${verification(user, sms.id)}/confirm`, { code: first?.payload.code });
        expect(stale.status, stale.text).to.equal(400);
        expect((stale.body as Problem).errors?.[0]).to.include({ field: 'code', rule: 'mismatch' });
      }
      expect((await t.api.post(`${verification(user, sms.id)}/confirm`, { code: second?.payload.code })).status).to.equal(200);
    });

    it('a wrong code: 400 and counted; the fifth wrong code voids it (409) and even the right one is refused then', async () => {
      const user = await createUser(t.pool, 'Guesser');
      const sms = await add(user, { kind: 'sms', address: '+4915112340003' });
      await t.api.post(verification(user, sms.id));
      const code = String((await sentCodes(sms.id))[0]?.payload.code);
      const wrong = code === '000000' ? '111111' : '000000';
      for (let attempt = 1; attempt <= 4; attempt += 1) {
        const res = await t.api.post(`${verification(user, sms.id)}/confirm`, { code: wrong });
        expect(res.status, res.text).to.equal(400);
        expect((res.body as Problem).errors?.[0]).to.include({ field: 'code', rule: 'mismatch' });
        expect((res.body as Problem).detail).to.include(`${5 - attempt} attempt`);
      }
      const attempts = await t.pool.query<{ verification_attempts: number }>('SELECT verification_attempts FROM contact_methods WHERE id = $1', [sms.id]);
      expect(attempts.rows[0]?.verification_attempts).to.equal(4);
      const fifth = await t.api.post(`${verification(user, sms.id)}/confirm`, { code: wrong });
      expect(fifth.status, fifth.text).to.equal(409);
      expect(fifth.body.code).to.equal('verification_void');
      await expectRefused(t, () => t.api.post(`${verification(user, sms.id)}/confirm`, { code }), 409, 'verification_void');
      // A new code (a minute later) starts afresh.
      t.clock.advance(60_000);
      await t.api.post(verification(user, sms.id));
      const fresh = String((await sentCodes(sms.id))[1]?.payload.code);
      expect((await t.api.post(`${verification(user, sms.id)}/confirm`, { code: fresh })).status).to.equal(200);
    });

    it('an expired code: 400 rule expired, not counted', async () => {
      const user = await createUser(t.pool, 'Late');
      const sms = await add(user, { kind: 'sms', address: '+4915112340004' });
      await t.api.post(verification(user, sms.id));
      const code = String((await sentCodes(sms.id))[0]?.payload.code);
      t.clock.advance(10 * 60_000);
      await expectRefused(t, () => t.api.post(`${verification(user, sms.id)}/confirm`, { code }), 400, 'validation_failed', { field: 'code', rule: 'expired' });
    });

    it('confirming with no code sent: 409 no_verification_pending; e-mail and other kinds: 409 not_verifiable', async () => {
      const user = await createUser(t.pool, 'Nothing Sent');
      const sms = await add(user, { kind: 'sms', address: '+4915112340005' });
      await expectRefused(t, () => t.api.post(`${verification(user, sms.id)}/confirm`, { code: '123456' }), 409, 'no_verification_pending');
      const [, email] = await methodsOf(user);
      await expectRefused(t, () => t.api.post(verification(user, String(email?.id))), 409, 'not_verifiable');
      await expectRefused(t, () => t.api.post(`${verification(user, String(email?.id))}/confirm`, { code: '123456' }), 409, 'not_verifiable');
    });

    it('a malformed code: 400 naming code, not counted', async () => {
      const user = await createUser(t.pool, 'Typo');
      const sms = await add(user, { kind: 'sms', address: '+4915112340006' });
      await t.api.post(verification(user, sms.id));
      for (const code of ['12345', '1234567', 'abcdef', ' 123456', 123456, null]) {
        const res = await t.api.post(`${verification(user, sms.id)}/confirm`, { code });
        expect(res.status, String(code)).to.equal(400);
        expect((res.body as Problem).errors?.[0]?.field).to.equal('code');
      }
      await expectRefused(t, () => t.api.post(`${verification(user, sms.id)}/confirm`, { code: '123456', extra: 1 }), 400, 'validation_failed', {
        field: 'extra',
        rule: 'additionalProperties',
      });
      const attempts = await t.pool.query<{ verification_attempts: number }>('SELECT verification_attempts FROM contact_methods WHERE id = $1', [sms.id]);
      expect(attempts.rows[0]?.verification_attempts).to.equal(0);
    });

    it('changing the number voids a pending code', async () => {
      const user = await createUser(t.pool, 'Switcher');
      const sms = await add(user, { kind: 'sms', address: '+4915112340007' });
      await t.api.post(verification(user, sms.id));
      const code = String((await sentCodes(sms.id))[0]?.payload.code);
      await patch(t.api, `/users/${user}/contact-methods/${sms.id}`, { address: '+4915112340008' });
      await expectRefused(t, () => t.api.post(`${verification(user, sms.id)}/confirm`, { code }), 409, 'no_verification_pending');
    });
  });
});
