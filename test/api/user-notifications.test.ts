/**
 * GET /users/:id/notifications and POST .../:notificationId/read (issue 11, in-app): a
 * person's notifications on every channel, newest first, in keyset pages; an in-app one
 * marked read once; a team's token sees only those about its team's incidents.
 */
import { expect } from 'chai';
import { createToken } from '../../src/commands/tokens.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createTeam, createUser } from '../support/factories.ts';
import { incidentIn } from '../support/fixtures.ts';
import type { Api } from '../support/http.ts';
import { type Json, allPages } from '../support/people.ts';

describe("a person's notifications (in-app)", () => {
  let t: TestContext;
  let user: string;
  let methods: Record<string, string>;
  let orgIncident: string;
  let teamIncident: string;
  let team: string;
  let otherTeam: string;
  let serial = 0;

  before(async () => {
    t = await createTestContext();
    user = await createUser(t.pool, 'Paged');
    team = await createTeam(t.pool, 'payments', [user]);
    otherTeam = await createTeam(t.pool, 'other', []);
    const rows = await t.pool.query<{ id: string; kind: string }>('SELECT id, kind FROM contact_methods WHERE user_id = $1', [user]);
    methods = Object.fromEntries(rows.rows.map((row) => [row.kind, row.id]));
    orgIncident = await incidentIn(t.api, 'ESCALATING', 'organisation incident');
    const teamWriter = await tokenFor(['write'], team);
    teamIncident = String((await teamWriter.post('/incidents', { title: 'payments down' })).body.id);
  });
  after(() => t.close());

  async function tokenFor(scopes: ('read' | 'write' | 'admin')[], teamId: string | null): Promise<Api> {
    return t.api.as((await createToken(t.deps, { name: `${scopes.join('+')} ${teamId ?? 'org'}`, scopes, teamId, expiresAt: null }, { via: 'test' })).token);
  }

  /** An outbox row as the engine writes it (and, for SENT, as the notifier leaves it). */
  async function notification(fields: { channel?: string; type?: string; incident?: string | null; status?: 'PENDING' | 'SENT'; at: Date }): Promise<string> {
    serial += 1;
    const channel = fields.channel ?? 'in_app';
    const sent = fields.status === 'SENT';
    const res = await t.pool.query<{ id: string }>(
      `INSERT INTO notifications (idempotency_key, type, incident_id, user_id, contact_method_id, channel, destination, status,
                                  due_at, next_attempt_at, created_at, sent_at, finished_at, level)
       VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, $8, $8, $9, $9, $10) RETURNING id`,
      [
        `test:${serial}`,
        fields.type ?? 'escalation',
        fields.incident === undefined ? orgIncident : fields.incident,
        user,
        methods[channel === 'in_app' ? 'in_app' : 'email'],
        channel,
        sent ? 'SENT' : 'PENDING',
        fields.at,
        sent ? fields.at : null,
        (fields.type ?? 'escalation') === 'escalation' ? 1 : null,
      ],
    );
    return String(res.rows[0]?.id);
  }

  it('lists every channel, newest first, with status, type, incident and times', async () => {
    const other = await createUser(t.pool, 'Someone Else');
    const base = new Date('2026-03-01T10:00:00.000Z').getTime();
    const older = await notification({ at: new Date(base), status: 'SENT' });
    const newer = await notification({ channel: 'email', type: 'acknowledged', at: new Date(base + 1000) });
    const res = await t.api.get<{ items: Json[]; next_cursor: string | null }>(`/users/${user}/notifications`);
    expect(res.status, res.text).to.equal(200);
    const ids = res.body.items.map((item) => item.id);
    expect(ids.indexOf(newer)).to.be.lessThan(ids.indexOf(older));
    expect(res.body.items.find((item) => item.id === older)).to.deep.equal({
      id: older,
      type: 'escalation',
      channel: 'in_app',
      status: 'SENT',
      incident_id: orgIncident,
      incident_title: 'organisation incident',
      level: 1,
      contact_method_id: methods.in_app,
      reason: null,
      created_at: '2026-03-01T10:00:00.000Z',
      sent_at: '2026-03-01T10:00:00.000Z',
      read_at: null,
    });
    expect(res.body.items.find((item) => item.id === newer)).to.include({ channel: 'email', type: 'acknowledged', status: 'PENDING', sent_at: null });
    expect((await t.api.get<{ items: Json[] }>(`/users/${other}/notifications`)).body.items).to.deep.equal([]);
  });

  it('pages by (created_at, id) with no row skipped or repeated, rows at the same instant included', async () => {
    const at = new Date('2026-03-02T00:00:00.000Z');
    for (let i = 0; i < 7; i += 1) await notification({ at });
    const all = await allPages(t.api, `/users/${user}/notifications`, 200);
    const paged = await allPages(t.api, `/users/${user}/notifications`, 3);
    expect(paged.items.map((item) => item.id)).to.deep.equal(all.items.map((item) => item.id));
    expect(new Set(paged.items.map((item) => item.id)).size).to.equal(paged.items.length);
    const keys = all.items.map((item) => `${String(item.created_at)}|${String(item.id)}`);
    expect(keys).to.deep.equal([...keys].sort().reverse());
  });

  it('a malformed cursor or limit: 400 naming it', async () => {
    for (const [query, field] of [
      ['cursor=nope', 'cursor'],
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=NaN', 'limit'],
      ['since=1', 'since'],
    ] as const) {
      const res = await t.api.get(`/users/${user}/notifications?${query}`);
      expect(res.status, query).to.equal(400);
      expect((res.body.errors as { field: string }[])[0]?.field, query).to.equal(field);
    }
  });

  it('an unknown person: 404', async () => {
    expect((await t.api.get('/users/00000000-0000-4000-8000-000000000000/notifications')).status).to.equal(404);
  });

  it('POST .../read marks an in-app notification read once; again keeps the first read_at', async () => {
    const id = await notification({ at: t.clock.now(), status: 'SENT' });
    t.clock.advance(1000);
    const first = await t.api.post(`/users/${user}/notifications/${id}/read`);
    expect(first.status, first.text).to.equal(200);
    expect(first.body).to.include({ id, read_at: t.clock.now().toISOString() });
    const readAt = first.body.read_at;
    t.clock.advance(1000);
    const again = await t.api.post(`/users/${user}/notifications/${id}/read`);
    expect(again.status).to.equal(200);
    expect(again.body.read_at).to.equal(readAt);
    const row = await t.pool.query<{ read_at: Date | null }>('SELECT read_at FROM notifications WHERE id = $1', [id]);
    expect((row.rows[0]?.read_at as Date).toISOString()).to.equal(readAt);
  });

  it('a notification of another channel is not marked: 409 not_in_app, nothing changes', async () => {
    const id = await notification({ channel: 'email', at: t.clock.now() });
    const res = await t.api.post(`/users/${user}/notifications/${id}/read`);
    expect(res.status, res.text).to.equal(409);
    expect(res.body.code).to.equal('not_in_app');
    expect((await t.pool.query<{ read_at: Date | null }>('SELECT read_at FROM notifications WHERE id = $1', [id])).rows[0]?.read_at).to.equal(null);
  });

  it("another person's notification, or an unknown one: 404", async () => {
    const other = await createUser(t.pool, 'Not Them');
    const id = await notification({ at: t.clock.now() });
    expect((await t.api.post(`/users/${other}/notifications/${id}/read`)).status).to.equal(404);
    expect((await t.api.post(`/users/${user}/notifications/00000000-0000-4000-8000-000000000000/read`)).status).to.equal(404);
    expect((await t.pool.query<{ read_at: Date | null }>('SELECT read_at FROM notifications WHERE id = $1', [id])).rows[0]?.read_at).to.equal(null);
  });

  describe('team scoping', () => {
    let aboutTeam: string;
    let aboutOrg: string;
    let verification: string;
    before(async () => {
      aboutTeam = await notification({ incident: teamIncident, at: t.clock.now() });
      aboutOrg = await notification({ incident: orgIncident, at: t.clock.now() });
      verification = await notification({ type: 'verification', incident: null, at: t.clock.now() });
    });
    const idsSeenBy = async (api: Api) => (await allPages(api, `/users/${user}/notifications`, 200)).items.map((item) => item.id);

    it("a team's token lists only notifications about its team's incidents", async () => {
      const seen = await idsSeenBy(await tokenFor(['read'], team));
      expect(seen).to.include(aboutTeam);
      expect(seen).to.not.include(aboutOrg);
      expect(seen).to.not.include(verification);
      expect(await idsSeenBy(await tokenFor(['read'], otherTeam))).to.deep.equal([]);
      const everything = await idsSeenBy(await tokenFor(['read'], null));
      expect(everything).to.include.members([aboutTeam, aboutOrg, verification]);
    });

    it("another team's token cannot mark one read (404); the own team's write token can; read scope cannot (403)", async () => {
      expect((await (await tokenFor(['write'], otherTeam)).post(`/users/${user}/notifications/${aboutTeam}/read`)).status).to.equal(404);
      expect((await (await tokenFor(['write'], team)).post(`/users/${user}/notifications/${aboutOrg}/read`)).status).to.equal(404);
      expect((await (await tokenFor(['read'], team)).post(`/users/${user}/notifications/${aboutTeam}/read`)).status).to.equal(403);
      expect((await t.pool.query<{ read_at: Date | null }>('SELECT read_at FROM notifications WHERE id = $1', [aboutTeam])).rows[0]?.read_at).to.equal(null);
      const res = await (await tokenFor(['write'], team)).post(`/users/${user}/notifications/${aboutTeam}/read`);
      expect(res.status, res.text).to.equal(200);
    });
  });
});
