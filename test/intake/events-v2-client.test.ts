/**
 * Issue 12: "existing client libraries for that API, pointed at our base URL, must work
 * unchanged (test with one from the npm registry)". The library is PagerDuty's own
 * JavaScript client, @pagerduty/pdjs (the most used on npm; node-pagerduty, the other
 * one maintained, has events.pagerduty.com written into its code). Its `event()`,
 * `trigger()`, `acknowledge()` and `resolve()` take the host as `server` but always
 * speak https (`https://${server}/v2/enqueue`), so the app is served here behind TLS
 * with a certificate made for 127.0.0.1 at the start of the run (openssl), and the
 * library is given an https.Agent that trusts it: its request options go to fetch
 * (node-fetch, through cross-fetch), which takes an `agent`. Nothing of the library is
 * changed or stubbed; what is asserted is what it hands its caller (the status and the
 * parsed body) and what became of the incident in Postgres.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, type Server, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { acknowledge, event, resolve, trigger } from '@pagerduty/pdjs';
import { expect } from 'chai';
import { createApp } from '../../src/api/app.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createPolicyVia, createUser } from '../support/factories.ts';
import { track } from '../support/leaks.ts';

/** A self-signed certificate and its key for 127.0.0.1, valid for a day. */
async function makeCertificate(): Promise<{ key: Buffer; cert: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), 'klaxon-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ]).catch((error: Error) => {
      throw new Error(`this test needs openssl to make a TLS certificate (apt-get install openssl): ${error.message}`);
    });
    return { key: await readFile(keyPath), cert: await readFile(certPath) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The library's event body type (its index does not export the name). */
type EventPayloadV2 = Parameters<typeof trigger>[0]['data'];

/** What the library hands its caller: the Response, with the parsed JSON body as `data` (typed any: read as unknown). */
async function answered(sending: ReturnType<typeof trigger>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await sending;
  return { status: response.status, body: response.data as Record<string, unknown> };
}

interface IncidentRow {
  id: string;
  state: string;
  dedup_key: string;
  alert_count: number;
  title: string;
}

describe('Events API v2 through an npm client library (@pagerduty/pdjs), unchanged', () => {
  let t: TestContext;
  let server: Server;
  let untrack: () => void;
  let agent: Agent;
  /** The library's `server`: host and port, which it puts after `https://`. */
  let host: string;
  let serviceId: string;
  let routingKey: string;

  before(async () => {
    t = await createTestContext();
    const { key, cert } = await makeCertificate();
    const handle = createApp(t.deps).callback();
    server = createServer({ key, cert }, (req, res) => {
      void handle(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    untrack = track('the TLS server of the Events API v2 client test');
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    agent = new Agent({ ca: cert, keepAlive: false });

    const alice = await createUser(t.pool, 'Alice');
    const policyId = await createPolicyVia(t.api, { name: 'Disks', levels: [{ delay: '5m', targets: [{ type: 'user', id: alice }] }] });
    const service = await t.api.post('/services', { name: 'Storage', escalation_policy_id: policyId });
    expect(service.status, service.text).to.equal(201);
    serviceId = String(service.body.id);
    const created = await t.api.post(`/services/${serviceId}/integration-keys`, { name: 'pdjs' });
    expect(created.status, created.text).to.equal(201);
    routingKey = String(created.body.key);
  });

  after(async () => {
    agent.destroy();
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
    untrack();
    await t.close();
  });

  /** The library's options: our host, and (spread, as the library spreads them into fetch's) the agent that trusts our certificate. */
  const via = () => {
    const tls = { agent };
    return { server: host, ...tls };
  };

  const triggerData = (dedupKey: string | undefined): EventPayloadV2 => ({
    routing_key: routingKey,
    event_action: 'trigger',
    ...(dedupKey === undefined ? {} : { dedup_key: dedupKey }),
    payload: {
      summary: 'Disk almost full on db-1: 3% left on /var',
      source: 'db-1.example.com',
      severity: 'critical',
      timestamp: '2026-03-01T08:59:30.000Z',
      component: 'disk',
      group: 'databases',
      class: 'disk_full',
      custom_details: { free_percent: 3, mount: '/var' },
    },
    links: [{ href: 'https://grafana.example.com/d/disks', text: 'Disks dashboard' }],
  });

  async function incidentsWithKey(dedupKey: string): Promise<IncidentRow[]> {
    const { rows } = await t.pool.query<IncidentRow>(
      'SELECT id, state, dedup_key, alert_count, title FROM incidents WHERE service_id = $1 AND dedup_key = $2 ORDER BY created_at, id',
      [serviceId, dedupKey],
    );
    return rows;
  }

  async function outcomesOf(incidentId: string): Promise<string[]> {
    const { rows } = await t.pool.query<{ outcome: string }>('SELECT outcome FROM alert_log WHERE incident_id = $1 ORDER BY id', [incidentId]);
    return rows.map((row) => row.outcome);
  }

  it('trigger opens an escalating incident; the library reports 202 and the dedup_key', async () => {
    const sent = await answered(trigger({ ...via(), data: triggerData('disk_full/db-1') }));
    expect(sent.status).to.equal(202);
    expect(sent.body).to.deep.equal({ status: 'success', message: 'Event processed', dedup_key: 'disk_full/db-1' });

    const [incident, ...others] = await incidentsWithKey('disk_full/db-1');
    expect(others).to.have.length(0);
    expect(incident).to.include({ state: 'ESCALATING', alert_count: 1, title: 'Disk almost full on db-1: 3% left on /var' });
    expect(await outcomesOf(String(incident?.id))).to.deep.equal(['opened']);
  });

  it('the same trigger again is deduplicated: one incident, two occurrences', async () => {
    const sent = await answered(event({ ...via(), data: triggerData('disk_full/db-1') }));
    expect(sent.status).to.equal(202);
    expect(sent.body).to.include({ status: 'success', dedup_key: 'disk_full/db-1' });

    const incidents = await incidentsWithKey('disk_full/db-1');
    expect(incidents).to.have.length(1);
    expect(incidents[0]).to.include({ state: 'ESCALATING', alert_count: 2 });
    expect(await outcomesOf(String(incidents[0]?.id))).to.deep.equal(['opened', 'deduplicated']);
  });

  it('acknowledge and resolve act by dedup_key', async () => {
    const data = { routing_key: routingKey, dedup_key: 'disk_full/db-1' } as EventPayloadV2;
    const acknowledged = await answered(acknowledge({ ...via(), data }));
    expect(acknowledged.status).to.equal(202);
    expect(acknowledged.body).to.include({ status: 'success', dedup_key: 'disk_full/db-1' });
    expect((await incidentsWithKey('disk_full/db-1'))[0]).to.include({ state: 'ACKNOWLEDGED' });

    const resolved = await answered(resolve({ ...via(), data }));
    expect(resolved.status).to.equal(202);
    expect(resolved.body).to.include({ status: 'success', dedup_key: 'disk_full/db-1' });
    const [incident] = await incidentsWithKey('disk_full/db-1');
    expect(incident).to.include({ state: 'RESOLVED' });
    expect(await outcomesOf(String(incident?.id))).to.deep.equal(['opened', 'deduplicated', 'acknowledged', 'resolved']);
  });

  it('a trigger after the resolve opens a new incident with the same key', async () => {
    // A minute later: the two incidents are told apart by their creation time.
    t.clock.advance(60_000);
    const sent = await answered(trigger({ ...via(), data: triggerData('disk_full/db-1') }));
    expect(sent.status).to.equal(202);
    const incidents = await incidentsWithKey('disk_full/db-1');
    expect(incidents.map((incident) => incident.state)).to.deep.equal(['RESOLVED', 'ESCALATING']);
  });

  it('a trigger without a dedup_key gets one made, which the library reports and acknowledge then uses', async () => {
    const sent = await answered(trigger({ ...via(), data: triggerData(undefined) }));
    expect(sent.status).to.equal(202);
    const dedupKey: unknown = sent.body.dedup_key;
    expect(dedupKey).to.be.a('string').and.not.equal('');
    expect((await incidentsWithKey(String(dedupKey)))[0]).to.include({ state: 'ESCALATING', alert_count: 1 });

    const acknowledged = await answered(acknowledge({ ...via(), data: { routing_key: routingKey, dedup_key: String(dedupKey) } as EventPayloadV2 }));
    expect(acknowledged.status).to.equal(202);
    expect((await incidentsWithKey(String(dedupKey)))[0]).to.include({ state: 'ACKNOWLEDGED' });
  });

  it('an invalid event: the library reports the 400 and its errors, and nothing is opened', async () => {
    const data = triggerData('no-summary');
    const payload: Partial<EventPayloadV2['payload']> = { ...data.payload };
    delete payload.summary;
    const sent = await answered(trigger({ ...via(), data: { ...data, payload } as EventPayloadV2 }));
    expect(sent.status).to.equal(400);
    expect(sent.body).to.include({ status: 'invalid event', message: 'Event object is invalid' });
    expect(sent.body.errors).to.be.an('array').that.is.not.empty;
    expect(String(sent.body.errors)).to.contain('summary');
    expect(await incidentsWithKey('no-summary')).to.have.length(0);
  });
});
