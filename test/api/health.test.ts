import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';

describe('health endpoints', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  it('GET /healthz answers 200 without touching Postgres or Redis', async () => {
    const queriesBefore = t.pool.totalCount;
    const res = await t.api.get('/healthz');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ status: 'ok' });
    expect(t.pool.totalCount).to.equal(queriesBefore);
  });

  it('GET /readyz answers 200 when Postgres and Redis both answer', async () => {
    const res = await t.api.get('/readyz');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ status: 'ready', checks: { postgres: 'up', redis: 'up' } });
  });
});

describe('request logging', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(() => t.close());

  it("gives every request the server's own id (X-Request-Id, request_id on every line) and keeps a client's apart as client_request_id", async () => {
    const res = await t.api.raw('POST', '/incidents', {
      body: JSON.stringify({ title: 'traced' }),
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-abc-123' },
    });
    const requestId = res.headers.get('x-request-id');
    expect(requestId).to.match(/^[0-9a-f-]{36}$/);
    const lines = t.logs.filter((line) => line.request_id === requestId);
    expect(lines.map((line) => line.message)).to.include('request');
    expect(lines.find((line) => line.message === 'request')).to.include({
      method: 'POST',
      route: '/incidents',
      status: 201,
      client_request_id: 'trace-abc-123',
    });
    expect(t.logs.some((line) => line.request_id === 'trace-abc-123')).to.equal(false);
  });

  it('a client cannot choose the server id: two requests with the same X-Request-Id get two ids', async () => {
    const send = () => t.api.raw('GET', '/healthz', { headers: { 'x-request-id': 'same-id' } });
    const [a, b] = [await send(), await send()];
    expect(a.headers.get('x-request-id')).to.not.equal(b.headers.get('x-request-id'));
  });

  it('drops an unsafe client request id (it is not logged)', async () => {
    const res = await t.api.raw('GET', '/healthz', { headers: { 'x-request-id': 'bad id\twith spaces' } });
    const requestId = res.headers.get('x-request-id');
    expect(requestId).to.match(/^[0-9a-f-]{36}$/);
    const line = t.logs.find((entry) => entry.request_id === requestId && entry.message === 'request');
    expect(line).to.not.have.property('client_request_id');
  });

  it('never logs request bodies', async () => {
    await t.api.post('/incidents', { title: 'canary-5f2b9c1e', note: 'canary-note-77d1' });
    const text = JSON.stringify(t.logs);
    expect(text).not.to.include('canary-5f2b9c1e');
    expect(text).not.to.include('canary-note-77d1');
  });
});
