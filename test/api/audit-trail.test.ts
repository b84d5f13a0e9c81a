/**
 * The audit row of a write is never lost: it is written in the very transaction of the
 * change it records (both commit, or neither), and a refused request's row is queued,
 * written in a transaction of its own and retried while the database cannot take it;
 * a row given up is counted and logged. No token reaches audit_log, wherever a client
 * put one; the client's request id is kept apart from the server's.
 */
import { expect } from 'chai';
import { createToken } from '../../src/commands/tokens.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { incidentIn } from '../support/fixtures.ts';
import { sample } from '../support/metrics.ts';

interface AuditRow {
  method: string;
  route: string | null;
  path: string;
  status: number;
  request_id: string;
  client_request_id: string | null;
}

describe('the audit row of a write', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  const lost = async () => sample(await t.deps.metrics.registry.metrics(), 'klaxon_audit_rows_lost_total') ?? 0;

  async function rows(): Promise<AuditRow[]> {
    await t.deps.audit.idle();
    return (await t.ownerPool.query<AuditRow>('SELECT * FROM audit_log ORDER BY id')).rows;
  }

  it('is written in the transaction of the change: the same transaction id', async () => {
    const opened = await t.api.post('/incidents', { title: 'one transaction' });
    expect(opened.status).to.equal(201);
    const {
      rows: [row],
    } = await t.ownerPool.query<{ incident: string; audit: string }>(
      `SELECT i.xmin::text AS incident, a.xmin::text AS audit
       FROM incidents i, audit_log a WHERE i.id = $1 AND a.request_id = $2`,
      [opened.body.id, opened.headers.get('x-request-id')],
    );
    expect(row?.audit).to.equal(row?.incident);
  });

  it('and the change commit together or not at all: when the row cannot be written, nothing changes', async () => {
    const id = await incidentIn(t.api, 'OPEN');
    const count = async () => Number((await t.ownerPool.query<{ n: string }>('SELECT count(*) AS n FROM incidents')).rows[0]?.n);
    const incidents = await count();
    const lostBefore = await lost();
    // An audit_log that refuses every new row (NOT VALID: the rows it has stay).
    await t.ownerPool.query('ALTER TABLE audit_log ADD CONSTRAINT refuse_all CHECK (false) NOT VALID');
    try {
      expect((await t.api.post('/incidents', { title: 'no audit, no incident' })).status).to.equal(500);
      expect((await t.api.post(`/incidents/${id}/acknowledge`)).status).to.equal(500);
      await t.deps.audit.idle();
    } finally {
      await t.ownerPool.query('ALTER TABLE audit_log DROP CONSTRAINT refuse_all');
    }
    expect(await count()).to.equal(incidents);
    expect((await t.api.get(`/incidents/${id}`)).body.state).to.equal('OPEN');
    // The refusals' own rows could not be written either: counted, and logged as an episode.
    expect(await lost()).to.equal(lostBefore + 2);
    expect(t.logs.some((line) => line.level === 'error' && String(line.message).startsWith('audit rows of refused requests are being lost'))).to.equal(true);
  });

  it('keeps the route of a refused request, the server request id, and the client one apart', async () => {
    const reader = await createToken(t.deps, { name: 'reader', scopes: ['read'], teamId: null, expiresAt: null }, { via: 'test' });
    const refused = await t.api.as(reader.token).raw('POST', '/incidents', {
      body: '{"title":"x"}',
      headers: { 'content-type': 'application/json', 'x-request-id': 'client-7' },
    });
    expect(refused.status).to.equal(403);
    const row = (await rows()).at(-1);
    expect(row).to.deep.include({ method: 'POST', route: '/incidents', path: '/incidents', status: 403, client_request_id: 'client-7' });
    expect(row?.request_id).to.equal(refused.headers.get('x-request-id'));
  });

  it('never keeps a token: one in a path is redacted, one in X-Request-Id is refused (400) and kept nowhere', async () => {
    const created = await t.api.post('/tokens', { name: 'pasted by mistake', scopes: ['write'] });
    const token = created.body.token as string;
    const secret = token.slice('klx_'.length + 13);
    const logsBefore = t.logs.length;

    const inPath = await t.api.post(`/incidents/${token}/acknowledge`);
    expect(inPath.status).to.equal(400);
    const inHeader = await t.api.raw('POST', '/incidents', {
      body: '{"title":"x"}',
      headers: { 'content-type': 'application/json', 'x-request-id': token },
    });
    expect(inHeader.status).to.equal(400);
    expect(inHeader.body.errors).to.deep.equal([
      { field: 'X-Request-Id', rule: 'format', message: 'holds an API token: never send a token anywhere but in Authorization (and revoke this one)' },
    ]);
    const inBody = await t.api.post('/incidents', { title: `see ${token}`, note: token });
    expect(inBody.status).to.equal(201);

    const stored = JSON.stringify(await rows());
    expect(stored).to.not.include(secret);
    expect(stored).to.include(`/incidents/${token.slice(0, 17)}[redacted]/acknowledge`);
    const { rows: incident } = await t.ownerPool.query('SELECT title, e.note FROM incidents i JOIN incident_events e ON e.incident_id = i.id WHERE i.id = $1', [
      inBody.body.id,
    ]);
    expect(JSON.stringify(incident)).to.not.include(secret);
    expect(JSON.stringify(incident)).to.include(`${token.slice(0, 17)}[redacted]`);
    expect(JSON.stringify(t.logs.slice(logsBefore))).to.not.include(secret);
  });
});

describe('the audit row of a refused request, while the database cannot take it', () => {
  let t: TestContext;
  before(async () => {
    // Two connections, and a short wait for one: an exhausted pool shows at once.
    t = await createTestContext({ pool: { max: 2, connectionTimeoutMs: 100 } });
  });
  after(() => t.close());

  it('is retried until the database takes it', async () => {
    const id = await incidentIn(t.api, 'OPEN'); // the token is now known to this process
    const held = [await t.pool.connect(), await t.pool.connect()];
    let released = false;
    try {
      const res = await t.api.post(`/incidents/${id}/acknowledge`);
      expect(res.status).to.equal(503);
      expect(res.body.code).to.equal('overloaded');
      // The first attempt waits 100 ms for a connection in vain; the connections come back meanwhile.
      setTimeout(() => {
        for (const client of held) client.release();
        released = true;
      }, 250);
      await t.deps.audit.idle();
    } finally {
      if (!released) for (const client of held) client.release();
    }
    const { rows } = await t.ownerPool.query<{ status: number; route: string }>('SELECT status, route FROM audit_log ORDER BY id DESC LIMIT 1');
    expect(rows[0]).to.deep.equal({ status: 503, route: '/incidents/:id/acknowledge' });
  });
});
