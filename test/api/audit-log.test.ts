/**
 * Every authenticated write leaves an audit_log row naming its token, and no secret
 * ever reaches the logs: a canary token is sent everywhere a client could put one.
 */
import { expect } from 'chai';
import { createToken } from '../../src/commands/tokens.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { del } from '../support/people.ts';

interface AuditRow {
  token_id: string | null;
  actor: string;
  team_id: string | null;
  method: string;
  route: string | null;
  path: string;
  status: number;
  request_id: string | null;
  occurred_at: Date;
}

describe('the audit log and secrets in logs', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(async () => t.close());

  async function auditRows(): Promise<AuditRow[]> {
    // Refused requests' rows are written in the background.
    await t.deps.audit.idle();
    return (await t.ownerPool.query<AuditRow>('SELECT * FROM audit_log ORDER BY id')).rows;
  }

  it('records every authenticated write (done or refused) with its token, route, status and request id; reads and unauthenticated calls add nothing', async () => {
    const writer = await createToken(t.deps, { name: 'auditor test', scopes: ['write'], teamId: null, expiresAt: null }, { via: 'test' });
    const api = t.api.as(writer.token);
    const before = (await auditRows()).length;

    const opened = await api.post('/incidents', { title: 'audited' });
    const id = String(opened.body.id);
    const acked = await api.post(`/incidents/${id}/acknowledge`);
    const refused = await api.post('/users', { name: 'Nope', email: 'nope@example.com' });
    const missing = await api.post('/incidents/00000000-0000-4000-8000-000000000000/resolve');
    await api.get(`/incidents/${id}`);
    await t.api.as(null).post('/incidents', { title: 'anonymous' });

    const rows = (await auditRows()).slice(before);
    expect(rows.map((row) => [row.method, row.route, row.status])).to.deep.equal([
      ['POST', '/incidents', 201],
      ['POST', '/incidents/:id/acknowledge', 200],
      ['POST', '/users', 403], // refused by admission: the route it matched all the same
      ['POST', '/incidents/:id/resolve', 404],
    ]);
    for (const row of rows) {
      expect(row.token_id).to.equal(writer.record.id);
      expect(row.actor).to.equal(`token ${writer.record.publicId} (auditor test)`);
      expect(row.occurred_at.toISOString()).to.equal(t.clock.now().toISOString());
    }
    expect(rows[0]?.request_id).to.equal(opened.headers.get('x-request-id'));
    expect(rows[1]?.path).to.equal(`/incidents/${id}/acknowledge`);
    expect(rows[2]?.path).to.equal('/users');
    expect(rows[1]?.request_id).to.equal(acked.headers.get('x-request-id'));
    expect(refused.status).to.equal(403);
    expect(missing.status).to.equal(404);
  });

  it("records the token's team", async () => {
    const { rows } = await t.ownerPool.query<{ id: string }>("INSERT INTO teams (name) VALUES ('audit team') RETURNING id");
    const teamId = rows[0]?.id as string;
    const token = await createToken(t.deps, { name: 'team writer', scopes: ['write'], teamId, expiresAt: null }, { via: 'test' });
    await t.api.as(token.token).post('/incidents', { title: 'team incident' });
    expect((await auditRows()).at(-1)?.team_id).to.equal(teamId);
  });

  it('a canary token sent in every place a client could put one never appears in a log line', async () => {
    const created = await t.api.post('/tokens', { name: 'canary', scopes: ['write'] });
    const canary = created.body.token as string;
    const secret = canary.slice('klx_'.length + 13);
    const api = t.api.as(canary);
    const logsBefore = t.logs.length;

    await api.get('/incidents');
    await api.post('/incidents', { title: canary, description: canary, actor: canary, note: canary });
    await api.raw('POST', '/incidents', { body: `{"title": "${canary}",`, headers: { 'content-type': 'application/json' } });
    await api.get(`/incidents?state=${canary}`);
    await api.get(`/incidents/${canary}`);
    await api.raw('GET', `/${canary}`, {});
    await api.raw('GET', '/incidents', { headers: { 'x-request-id': canary } });
    await api.post('/users', { name: canary, email: `${canary}@example.com` }); // 403
    await t.api.as(null).raw('GET', '/incidents', { headers: { authorization: `Bearer ${canary}x` } }); // malformed
    await t.api.as(null).raw('GET', '/incidents', { headers: { authorization: `Basic ${canary}` } });
    await del(t.api, `/tokens/${String(created.body.id)}`);
    await api.get('/incidents'); // revoked
    t.deps.logger.warn('a careless line', { error: new Error(`failed for ${canary}`), header: `Bearer ${canary}` });

    const lines = t.logs.slice(logsBefore).map((line) => JSON.stringify(line));
    expect(lines.length).to.be.greaterThan(10);
    for (const line of lines) {
      expect(line).to.not.include(secret);
    }
    // What is left is the public part, which names the token without opening anything.
    expect(lines.some((line) => line.includes(`${canary.slice(0, 17)}[redacted]`))).to.equal(true);
  });
});
