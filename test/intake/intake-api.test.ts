/**
 * Alert intake through the API (issue 12): the Events API v2 endpoint, deduplication
 * (including two identical triggers racing), acknowledge and resolve by key, a trigger
 * after a resolve, storms, bad payloads, the Alertmanager and Grafana webhooks, the
 * alert log and the audit rows.
 */
import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import { ServiceFactsCache } from '../../src/commands/intake.ts';
import { policyToFreeze } from '../../src/commands/transition-incident.ts';
import { createIntegrationKey } from '../../src/commands/integration-keys.ts';
import { createToken } from '../../src/commands/tokens.ts';
import { EVERY_TEAM } from '../../src/domain/team-scope.ts';
import { runAuditQuery } from '../support/audit-queries.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createPolicyVia, createServiceRow, createTeam, createUser } from '../support/factories.ts';
import type { Api } from '../support/http.ts';

type Json = Record<string, unknown>;

const STORM_PER_MINUTE = 20;

describe('alert intake', function () {
  this.timeout(30_000);
  let t: TestContext;
  let pub: Api;
  let service: string;
  let key: string;
  let keyId: string;

  before(async () => {
    t = await createTestContext({ intakeStormPerMinute: STORM_PER_MINUTE, intakeRateLimit: { ratePerMinute: 100_000, burst: 100_000 } });
    pub = t.api.as(null);
    const ada = await createUser(t.pool, 'Ada');
    const policy = await createPolicyVia(t.api, {
      name: 'ops',
      levels: [
        { delay: '0s', targets: [{ type: 'user', id: ada }] },
        { delay: '5m', targets: [{ type: 'user', id: ada }] },
      ],
    });
    service = await createServiceRow(t.pool, 'checkout', policy);
    ({ key, keyId } = await newKey(service, 'prometheus'));
  });
  after(() => t.close());
  // Each test in a minute of its own: the storm threshold counts new incidents per minute and service.
  beforeEach(() => t.clock.advance(61_000));

  async function newKey(serviceId: string, name: string, signingSecret?: string): Promise<{ key: string; keyId: string }> {
    const created = await createIntegrationKey(t.deps, EVERY_TEAM, { serviceId, name, signingSecret: signingSecret ?? null }, 'test');
    return { key: created.key, keyId: created.record.id };
  }

  const enqueue = (body: Json) => pub.post('/v2/enqueue', body);
  const trigger = (dedupKey: string | undefined, summary = `disk full ${dedupKey ?? ''}`, routingKey = key) =>
    enqueue({
      routing_key: routingKey,
      event_action: 'trigger',
      ...(dedupKey ? { dedup_key: dedupKey } : {}),
      payload: { summary, source: 'db-1', severity: 'critical' },
    });

  async function incidentsWithKey(dedupKey: string, serviceId = service): Promise<Json[]> {
    const { rows } = await t.ownerPool.query<Json>('SELECT * FROM incidents WHERE service_id = $1 AND dedup_key = $2 ORDER BY created_at', [
      serviceId,
      dedupKey,
    ]);
    return rows;
  }

  async function alertLines(dedupKey: string): Promise<Json[]> {
    const { rows } = await t.ownerPool.query<Json>('SELECT * FROM alert_log WHERE dedup_key = $1 ORDER BY id', [dedupKey]);
    return rows;
  }

  describe('POST /v2/enqueue', () => {
    it('opens an incident for a trigger, escalating at once on the service policy, and answers as the Events API does', async () => {
      const res = await trigger('disk-1');
      expect(res.status, res.text).to.equal(202);
      expect(res.body).to.deep.equal({ status: 'success', message: 'Event processed', dedup_key: 'disk-1' });
      const [incident, ...more] = await incidentsWithKey('disk-1');
      expect(more).to.have.length(0);
      expect(incident).to.include({ title: 'disk full disk-1', severity: 'critical', state: 'ESCALATING', alert_count: 1, alert_storm: false });
      const { rows: escalations } = await t.ownerPool.query<{ id: string; scheduled_at: Date }>(
        'SELECT id, escalation_level, scheduled_at FROM escalations WHERE incident_id = $1',
        [incident?.id],
      );
      expect(escalations).to.have.length(1);
      // Level 1's delay is 0s: due at once, and in the workers' Redis index by the time the answer came.
      expect(escalations[0]?.scheduled_at.getTime()).to.equal(t.clock.now().getTime());
      expect(await t.redis.zScore(t.keys.pending, String(escalations[0]?.id))).to.equal(t.clock.now().getTime());
      const { rows: events } = await t.ownerPool.query<{ kind: string; actor: string; details: Json }>(
        'SELECT kind, actor, details FROM incident_events WHERE incident_id = $1 ORDER BY id',
        [incident?.id],
      );
      expect(events.map((e) => e.kind)).to.deep.equal(['opened', 'escalation_started']);
      expect(events[0]?.actor).to.match(/^integration key klxr\w{4} \(prometheus\)$/);
      expect(events[0]?.details.alert).to.deep.equal({ source: 'events_v2', integration_key_id: keyId, dedup_key: 'disk-1' });
      const [line] = await alertLines('disk-1');
      expect(line).to.include({ outcome: 'opened', action: 'trigger', incident_id: incident?.id, source: 'events_v2', integration_key_id: keyId });
      expect(line?.payload).to.not.have.property('routing_key');
    });

    it('counts a repeated trigger on the open incident and pages nobody again', async () => {
      await trigger('disk-2');
      clockTick();
      const res = await trigger('disk-2', 'disk full again');
      expect(res.status).to.equal(202);
      const incidents = await incidentsWithKey('disk-2');
      expect(incidents).to.have.length(1);
      expect(incidents[0]).to.include({ alert_count: 2, title: 'disk full disk-2' });
      const { rows } = await t.ownerPool.query('SELECT count(*)::int AS n FROM escalations WHERE incident_id = $1', [incidents[0]?.id]);
      expect(rows[0]).to.deep.equal({ n: 1 });
      expect((await alertLines('disk-2')).map((line) => line.outcome)).to.deep.equal(['opened', 'deduplicated']);
    });

    it('opens one incident when identical triggers race (the unique index decides)', async () => {
      const answers = await Promise.all(Array.from({ length: 12 }, () => trigger('race-1')));
      expect(answers.map((res) => res.status)).to.deep.equal(Array(12).fill(202));
      const incidents = await incidentsWithKey('race-1');
      expect(incidents).to.have.length(1);
      expect(incidents[0]?.alert_count).to.equal(12);
      const outcomes = (await alertLines('race-1')).map((line) => line.outcome);
      expect(outcomes.filter((o) => o === 'opened')).to.have.length(1);
      expect(outcomes.filter((o) => o === 'deduplicated')).to.have.length(11);
    });

    it('acknowledges and resolves by dedup key, as the integration key; a trigger after the resolve opens a new incident', async () => {
      await trigger('cpu-1');
      const ack = await enqueue({ routing_key: key, event_action: 'acknowledge', dedup_key: 'cpu-1' });
      expect(ack.status).to.equal(202);
      expect((await incidentsWithKey('cpu-1'))[0]).to.include({ state: 'ACKNOWLEDGED' });
      const again = await enqueue({ routing_key: key, event_action: 'acknowledge', dedup_key: 'cpu-1' });
      expect(again.status).to.equal(202);
      const resolve = await enqueue({ routing_key: key, event_action: 'resolve', dedup_key: 'cpu-1' });
      expect(resolve.status).to.equal(202);
      const [first] = await incidentsWithKey('cpu-1');
      expect(first).to.include({ state: 'RESOLVED' });
      const { rows: events } = await t.ownerPool.query<{ kind: string; details: Json }>(
        "SELECT kind, details FROM incident_events WHERE incident_id = $1 AND kind IN ('acknowledged', 'resolved') ORDER BY id",
        [first?.id],
      );
      expect(events.map((e) => e.kind)).to.deep.equal(['acknowledged', 'resolved']);
      expect(events[1]?.details.alert).to.deep.equal({ source: 'events_v2', integration_key_id: keyId, dedup_key: 'cpu-1' });
      const { rows: pending } = await t.ownerPool.query("SELECT count(*)::int AS n FROM escalations WHERE incident_id = $1 AND status = 'PENDING'", [
        first?.id,
      ]);
      expect(pending[0]).to.deep.equal({ n: 0 });
      expect((await alertLines('cpu-1')).map((line) => line.outcome)).to.deep.equal(['opened', 'acknowledged', 'ignored', 'resolved']);

      t.clock.advance(1_000);
      await trigger('cpu-1');
      const both = await incidentsWithKey('cpu-1');
      expect(both.map((incident) => incident.state)).to.deep.equal(['RESOLVED', 'ESCALATING']);
    });

    it("opens an incident that waits in OPEN when the service's auto_escalate is off", async () => {
      const quiet = await createServiceRow(t.pool, 'batch jobs', null);
      const patched = await t.api.raw('PATCH', `/services/${quiet}`, {
        body: JSON.stringify({ auto_escalate: false }),
        headers: { 'content-type': 'application/json' },
      });
      expect(patched.status, patched.text).to.equal(200);
      const { key: quietKey } = await newKey(quiet, 'cron');
      expect((await trigger('nightly-1', 'nightly job failed', quietKey)).status).to.equal(202);
      const [incident] = await incidentsWithKey('nightly-1', quiet);
      expect(incident).to.include({ state: 'OPEN', policy_snapshot: null });
      const { rows } = await t.ownerPool.query('SELECT count(*)::int AS n FROM escalations WHERE incident_id = $1', [incident?.id]);
      expect(rows[0]).to.deep.equal({ n: 0 });
    });

    it("freezes the service's policy as it is now: an edit between two alerts applies to the very next one", async () => {
      const bob = await createUser(t.pool, 'Bob');
      const policyId = await createPolicyVia(t.api, { name: 'edited', levels: [{ delay: '1m', targets: [{ type: 'user', id: bob }] }] });
      const edited = await createServiceRow(t.pool, 'edited service', policyId);
      const { key: editedKey } = await newKey(edited, 'prometheus');
      expect((await trigger('before-edit', 's', editedKey)).status).to.equal(202);
      const put = await t.api.raw('PUT', `/escalation-policies/${policyId}`, {
        body: JSON.stringify({ name: 'edited', levels: [{ delay: '3m', targets: [{ type: 'user', id: bob }] }] }),
        headers: { 'content-type': 'application/json' },
      });
      expect(put.status, put.text).to.equal(200);
      expect((await trigger('after-edit', 's', editedKey)).status).to.equal(202);
      const { rows } = await t.ownerPool.query<{ dedup_key: string; policy_version: number; due_in_ms: number }>(
        `SELECT i.dedup_key, i.policy_version, (extract(epoch FROM e.scheduled_at - i.created_at) * 1000)::int AS due_in_ms
         FROM incidents i JOIN escalations e ON e.incident_id = i.id WHERE i.service_id = $1 ORDER BY i.dedup_key DESC`,
        [edited],
      );
      expect(rows).to.deep.equal([
        { dedup_key: 'before-edit', policy_version: 1, due_in_ms: 60_000 },
        { dedup_key: 'after-edit', policy_version: 2, due_in_ms: 180_000 },
      ]);
    });

    it('ignores an acknowledge or resolve with no open incident, and logs it', async () => {
      const res = await enqueue({ routing_key: key, event_action: 'resolve', dedup_key: 'never-seen' });
      expect(res.status).to.equal(202);
      const [line] = await alertLines('never-seen');
      expect(line).to.include({ outcome: 'ignored', incident_id: null, action: 'resolve' });
      expect(String(line?.reason)).to.match(/no open incident/);
    });

    it('makes a dedup key for a trigger that sent none, and answers it', async () => {
      const res = await trigger(undefined, 'no key');
      expect(res.status).to.equal(202);
      const dedupKey = String(res.body.dedup_key);
      expect(dedupKey).to.match(/^[0-9a-f]{32}$/);
      expect(await incidentsWithKey(dedupKey)).to.have.length(1);
    });

    it('refuses bad events with 400 in the Events API shape, naming each field and rule, and logs them', async () => {
      const res = await enqueue({ routing_key: key, event_action: 'trigger', dedup_key: 'bad-1', payload: { summary: '', source: 7, severity: 'loud' } });
      expect(res.status).to.equal(400);
      expect(res.headers.get('content-type')).to.match(/^application\/json/);
      expect(res.body).to.include({ status: 'invalid event', message: 'Event object is invalid' });
      const errors = (res.body.errors as string[]).join('\n');
      expect(errors).to.match(/payload\.summary/);
      expect(errors).to.match(/payload\.source/);
      expect(errors).to.match(/payload\.severity/);
      const { rows } = await t.ownerPool.query<Json>("SELECT * FROM alert_log WHERE outcome = 'invalid' AND integration_key_id = $1", [keyId]);
      expect(rows).to.have.length(1);
      expect(String(rows[0]?.reason)).to.match(/payload\.severity/);
      const { rows: audit } = await t.ownerPool.query<Json>('SELECT status, actor FROM audit_log WHERE request_id = $1', [rows[0]?.request_id]);
      expect(audit).to.deep.equal([{ status: 400, actor: `integration key ${key.slice(0, 8)} (prometheus)` }]);
    });

    it('refuses an unknown, malformed or missing routing key with 400, and non-JSON with the Events API shape', async () => {
      for (const routingKey of ['klxr' + 'a'.repeat(28), 'short', undefined]) {
        const res = await enqueue({
          ...(routingKey ? { routing_key: routingKey } : {}),
          event_action: 'trigger',
          payload: { summary: 's', source: 's', severity: 'info' },
        });
        expect(res.status, String(routingKey)).to.equal(400);
        expect(res.body.status).to.equal('invalid event');
        expect((res.body.errors as string[]).join(' ')).to.match(/routing_key/);
      }
      const broken = await pub.raw('POST', '/v2/enqueue', { body: '{"routing_key": ', headers: { 'content-type': 'application/json' } });
      expect(broken.status).to.equal(400);
      expect(broken.body).to.include({ status: 'invalid event' });
    });

    it('refuses a payload nested past what Postgres can store with 400, and still logs the event', async () => {
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      const body = `{"routing_key":"${key}","event_action":"trigger","dedup_key":"deep-1","payload":{"summary":"s","source":"s","severity":"info","custom_details":${deep}}}`;
      const res = await pub.raw('POST', '/v2/enqueue', { body, headers: { 'content-type': 'application/json' } });
      expect(res.status, res.text).to.equal(400);
      expect(res.body.status).to.equal('invalid event');
      const { rows } = await t.ownerPool.query<Json>(
        "SELECT payload FROM alert_log WHERE outcome = 'invalid' AND reason LIKE '%deep%' OR payload ? 'unstorable'",
      );
      expect(rows.length).to.be.greaterThan(0);
    });

    it('refuses a body over 512 KB with 413', async () => {
      const res = await enqueue({
        routing_key: key,
        event_action: 'trigger',
        payload: { summary: 's', source: 's', severity: 'info', custom_details: { blob: 'x'.repeat(520 * 1024) } },
      });
      expect(res.status).to.equal(413);
    });

    it('refuses a revoked key at once', async () => {
      const revoked = await newKey(service, 'old exporter');
      expect((await trigger('rev-1', 's', revoked.key)).status).to.equal(202);
      const res = await t.api.post(`/integration-keys/${revoked.keyId}/revoke`, {});
      expect(res.status, res.text).to.equal(200);
      expect((await trigger('rev-2', 's', revoked.key)).status).to.equal(400);
    });

    it('holds each key to its own rate: 429 past it, the other keys unaffected', async () => {
      const limited = await createIntegrationKey(t.deps, EVERY_TEAM, { serviceId: service, name: 'chatty', ratePerMinute: 1, rateBurst: 2 }, 'test');
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await trigger(`rate-${i}`, 's', limited.key)).status);
      expect(statuses).to.deep.equal([202, 202, 429]);
      expect((await trigger('rate-other')).status).to.equal(202);
    });
  });

  it("a service's facts are read once for the alerts that arrive while they are read (ServiceFactsCache), and again on a stale verdict", async () => {
    let reads = 0;
    let statements = 0;
    const pool = {
      query: (...args: unknown[]) => {
        statements += 1;
        if ((args[0] as { name?: string }).name === 'service-facts') reads += 1;
        return t.pool.query(...(args as [string]));
      },
    };
    const deps = { ...t.deps, pool: pool as unknown as typeof t.deps.pool };
    const cache = new ServiceFactsCache();
    const facts = await Promise.all(Array.from({ length: 20 }, () => cache.facts(deps, service, false)));
    expect(new Set(facts.map((f) => f.name))).to.deep.equal(new Set(['checkout']));
    expect(reads).to.equal(1);
    await cache.facts(deps, service, false);
    expect(reads, 'remembered').to.equal(1);
    await Promise.all([cache.facts(deps, service, true), cache.facts(deps, service, true)]);
    expect(reads, 'a refresh reads anew, each').to.equal(3);
    expect(statements, 'one statement, one round trip, per read').to.equal(3);
  });

  it("reads a service's facts as incidents freeze them: its policy's levels, targets, channels and repeats, the timetable without one, none when auto_escalate is off", async () => {
    const [ann, bob] = [await createUser(t.pool, 'Ann'), await createUser(t.pool, 'Bob')];
    const team = await createTeam(t.pool, 'facts team', [ann]);
    const policyId = await createPolicyVia(t.api, {
      name: 'facts',
      repeat_count: 2,
      levels: [
        {
          delay: '1m',
          targets: [
            { type: 'user', id: bob },
            { type: 'team', id: team },
            { type: 'user', id: ann },
          ],
          channels: ['sms', 'email'],
        },
        { delay: '0s', targets: [{ type: 'team', id: team }] },
        { delay: '10m', targets: [{ type: 'user', id: ann }] },
      ],
    });
    // A level left without targets (the API refuses one; the queries still read it).
    await t.ownerPool.query('INSERT INTO escalation_policy_levels (policy_id, level, delay_ms) VALUES ($1, 4, 3600000)', [policyId]);
    const withPolicy = await createServiceRow(t.pool, 'facts with policy', policyId);
    const withoutPolicy = await createServiceRow(t.pool, 'facts without policy', null);
    const quiet = await createServiceRow(t.pool, 'facts quiet', policyId);
    await t.ownerPool.query('UPDATE services SET auto_escalate = false WHERE id = $1', [quiet]);

    const cache = new ServiceFactsCache();
    const read = (id: string) => cache.facts(t.deps, id, true);
    // The policy as made, as incidents freeze it: levels in order, targets in position order, no names.
    const snapshot = {
      policyId,
      name: 'facts',
      version: 1,
      repeatCount: 2,
      levels: [
        {
          delayMs: 60_000,
          targets: [
            { type: 'user', id: bob },
            { type: 'team', id: team },
            { type: 'user', id: ann },
          ],
          channels: ['sms', 'email'],
        },
        { delayMs: 0, targets: [{ type: 'team', id: team }], channels: null },
        { delayMs: 600_000, targets: [{ type: 'user', id: ann }], channels: null },
        { delayMs: 3_600_000, targets: [], channels: null },
      ],
    };
    expect(await read(withPolicy)).to.deep.equal({ name: 'facts with policy', teamId: null, autoEscalate: true, policy: snapshot });
    expect((await read(withoutPolicy)).policy).to.deep.equal(policyToFreeze(t.deps, null));
    expect(await read(quiet)).to.deep.equal({ name: 'facts quiet', teamId: null, autoEscalate: false, policy: undefined });
    const gone = await read('00000000-0000-4000-8000-000000000000').then(
      () => null,
      (error: unknown) => error,
    );
    expect(String(gone)).to.match(/the service 00000000-0000-4000-8000-000000000000 of an integration key is gone/);
  });

  describe('storms', () => {
    it('folds the alerts past the threshold into one storm incident, which pages once, and goes on folding while they come', async () => {
      const stormy = await createServiceRow(t.pool, 'flapping', null);
      const { key: stormKey } = await newKey(stormy, 'exporter');
      for (let i = 0; i < STORM_PER_MINUTE + 7; i += 1) {
        const res = await trigger(`flap-${i}`, `flap ${i}`, stormKey);
        expect(res.status).to.equal(202);
      }
      const { rows } = await t.ownerPool.query<{ title: string; alert_storm: boolean; alert_count: number; state: string; id: string }>(
        'SELECT id, title, alert_storm, alert_count, state FROM incidents WHERE service_id = $1 ORDER BY created_at, alert_storm',
        [stormy],
      );
      const storms = rows.filter((row) => row.alert_storm);
      expect(rows.filter((row) => !row.alert_storm)).to.have.length(STORM_PER_MINUTE);
      expect(storms).to.have.length(1);
      expect(storms[0]).to.include({ title: 'Alert storm on flapping', alert_count: 7, state: 'ESCALATING' });
      const { rows: escalations } = await t.ownerPool.query('SELECT count(*)::int AS n FROM escalations WHERE incident_id = $1', [storms[0]?.id]);
      expect(escalations[0]).to.deep.equal({ n: 1 });
      const { rows: folded } = await t.ownerPool.query("SELECT count(*)::int AS n FROM alert_log WHERE incident_id = $1 AND outcome = 'folded'", [
        storms[0]?.id,
      ]);
      expect(folded[0]).to.deep.equal({ n: 7 });

      // A minute later the count starts again, but the storm goes on while alerts keep folding.
      t.clock.advance(59_000);
      expect((await trigger('flap-late', 'late', stormKey)).status).to.equal(202);
      expect(await incidentsWithKey('flap-late', stormy)).to.have.length(0);
      // Quiet for a minute: the next alert opens its own incident again.
      t.clock.advance(61_000);
      expect((await trigger('flap-after', 'after', stormKey)).status).to.equal(202);
      expect(await incidentsWithKey('flap-after', stormy)).to.have.length(1);
    });

    it('counts racing triggers exactly: never more than the threshold opened in a minute', async () => {
      const stormy = await createServiceRow(t.pool, 'racing', null);
      const { key: stormKey } = await newKey(stormy, 'exporter');
      await Promise.all(Array.from({ length: STORM_PER_MINUTE + 10 }, (_, i) => trigger(`burst-${i}`, `burst ${i}`, stormKey)));
      const { rows } = await t.ownerPool.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents WHERE service_id = $1 AND NOT alert_storm', [stormy]);
      expect(rows[0]?.n).to.equal(STORM_PER_MINUTE);
    });
  });

  describe('webhooks', () => {
    const amAlert = (fingerprint: string, status: 'firing' | 'resolved', startsAt = '2026-03-01T08:59:00Z') => ({
      status,
      labels: { alertname: 'HighLatency', instance: `web-${fingerprint}`, severity: 'warning' },
      annotations: { summary: `latency high on ${fingerprint}` },
      startsAt,
      endsAt: status === 'resolved' ? '2026-03-01T09:10:00Z' : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus/graph',
      fingerprint,
    });
    const amGroup = (alerts: Json[]) => ({
      version: '4',
      groupKey: '{}:{alertname="HighLatency"}',
      truncatedAlerts: 0,
      status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      receiver: 'klaxon',
      groupLabels: { alertname: 'HighLatency' },
      commonLabels: { alertname: 'HighLatency' },
      commonAnnotations: {},
      externalURL: 'http://alertmanager:9093',
      alerts,
    });
    const amIncidents = async (fingerprint: string) => {
      const { rows } = await t.ownerPool.query<Json>("SELECT * FROM incidents WHERE dedup_key LIKE $1 || ':%' ORDER BY created_at", [fingerprint]);
      return rows;
    };

    it("opens one incident per fingerprint, reads each alert's own status, and is idempotent on re-sends", async () => {
      const path = `/integrations/alertmanager/${key}`;
      const first = await pub.post(path, amGroup([amAlert('aaa1', 'firing'), amAlert('bbb2', 'firing')]));
      expect(first.status, first.text).to.equal(200);
      expect(await amIncidents('aaa1')).to.have.length(1);
      expect(await amIncidents('bbb2')).to.have.length(1);
      // Re-sent as is, then a firing group that carries one resolved alert.
      expect((await pub.post(path, amGroup([amAlert('aaa1', 'firing'), amAlert('bbb2', 'firing')]))).status).to.equal(200);
      expect((await pub.post(path, amGroup([amAlert('aaa1', 'firing'), amAlert('bbb2', 'resolved')]))).status).to.equal(200);
      const [a] = await amIncidents('aaa1');
      const [b] = await amIncidents('bbb2');
      expect(a).to.include({ state: 'ESCALATING', alert_count: 3 });
      expect(b).to.include({ state: 'RESOLVED' });
      // The resolved alert re-sent, and its firing occurrence re-sent late: nothing opens again.
      expect((await pub.post(path, amGroup([amAlert('bbb2', 'resolved')]))).status).to.equal(200);
      expect((await pub.post(path, amGroup([amAlert('bbb2', 'firing')]))).status).to.equal(200);
      expect(await amIncidents('bbb2')).to.have.length(1);
      // A new occurrence (a later startsAt) is a new incident.
      t.clock.advance(1_000);
      expect((await pub.post(path, amGroup([amAlert('bbb2', 'firing', '2026-03-01T09:30:00Z')]))).status).to.equal(200);
      expect((await amIncidents('bbb2')).map((i) => i.state)).to.deep.equal(['RESOLVED', 'ESCALATING']);
    });

    it('answers 404 for an unknown key and 400 naming the field for a bad payload', async () => {
      expect((await pub.post(`/integrations/alertmanager/klxr${'b'.repeat(28)}`, amGroup([amAlert('ccc3', 'firing')]))).status).to.equal(404);
      const bad = await pub.post(`/integrations/alertmanager/${key}`, { ...amGroup([amAlert('ccc3', 'firing')]), version: '3' });
      expect(bad.status).to.equal(400);
      expect(bad.headers.get('content-type')).to.match(/problem\+json/);
      expect(JSON.stringify(bad.body)).to.match(/version/);
      const worse = await pub.post(`/integrations/alertmanager/${key}`, amGroup([{ ...amAlert('ccc3', 'firing'), status: 'burning' }]));
      expect(worse.status).to.equal(400);
      expect(JSON.stringify(worse.body)).to.match(/alerts\.0\.status/);
    });

    it('takes the key only as written: a percent-encoded one is unknown', async () => {
      const encoded = `%${key.charCodeAt(0).toString(16)}${key.slice(1)}`;
      expect((await pub.post(`/integrations/alertmanager/${encoded}`, amGroup([amAlert('fff6', 'firing')]))).status).to.equal(404);
    });

    it('keeps the key out of the audit log and the logs', async () => {
      await pub.post(`/integrations/alertmanager/${key}`, amGroup([amAlert('ddd4', 'firing')]));
      const { rows } = await t.ownerPool.query<{ path: string }>("SELECT path FROM audit_log WHERE route = '/integrations/alertmanager/:key'");
      expect(rows.length).to.be.greaterThan(0);
      for (const row of rows) expect(row.path).to.not.include(key);
      expect(JSON.stringify(t.logs)).to.not.include(key);
    });

    it("checks Grafana's HMAC signature when the key has a signing secret", async () => {
      const secret = 'grafana-shared-secret-1234';
      const signed = await newKey(service, 'grafana', secret);
      const body = JSON.stringify({
        ...amGroup([{ ...amAlert('eee5', 'firing'), values: { B: 1 }, valueString: '[ var=B value=1 ]', dashboardURL: '', panelURL: '', silenceURL: '' }]),
        version: '1',
        orgId: 1,
        title: '[FIRING:1] HighLatency',
        state: 'alerting',
        message: 'latency high',
      });
      const path = `/integrations/grafana/${signed.key}`;
      const send = (signature: string | null) =>
        pub.raw('POST', path, {
          body,
          headers: { 'content-type': 'application/json', ...(signature ? { 'X-Grafana-Alerting-Signature': signature } : {}) },
        });
      expect((await send(null)).status).to.equal(401);
      expect((await send('0'.repeat(64))).status).to.equal(401);
      const good = await send(createHmac('sha256', secret).update(body).digest('hex'));
      expect(good.status, good.text).to.equal(200);
      expect(await amIncidents('eee5')).to.have.length(1);
    });
  });

  describe('the alert log', () => {
    it('lists every alert that touched an incident, oldest first, a page at a time', async () => {
      await trigger('paged-1');
      await trigger('paged-1');
      await trigger('paged-1');
      const [incident] = await incidentsWithKey('paged-1');
      const first = await t.api.get(`/incidents/${String(incident?.id)}/alerts?limit=2`);
      expect(first.status, first.text).to.equal(200);
      const items = first.body.items as Json[];
      expect(items.map((line) => line.outcome)).to.deep.equal(['opened', 'deduplicated']);
      const next = await t.api.get(`/incidents/${String(incident?.id)}/alerts?after=${String(first.body.next_after)}`);
      expect((next.body.items as Json[]).map((line) => line.outcome)).to.deep.equal(['deduplicated']);
      expect(next.body.next_after).to.equal(null);
      const shown = await t.api.get(`/incidents/${String(incident?.id)}`);
      expect(shown.body.alert).to.deep.include({ dedup_key: 'paged-1', storm: false, count: 3 });
      // The README's query (docs/audit-queries.sql) says the same.
      const rows = await runAuditQuery(t.pool, 'alerts-of-one-incident', String(incident?.id));
      expect(rows.map((row) => [row.outcome, row.integration_key, row.source])).to.deep.equal([
        ['opened', 'prometheus', 'events_v2'],
        ['deduplicated', 'prometheus', 'events_v2'],
        ['deduplicated', 'prometheus', 'events_v2'],
      ]);
    });

    it("is the service's team's: another team's token gets 404, as for the incident, and the team's own sees it", async () => {
      const own = await createTeam(t.pool, 'payments', []);
      const other = await createTeam(t.pool, 'search', []);
      const owned = await createServiceRow(t.pool, 'payments api', null);
      await t.ownerPool.query('UPDATE services SET team_id = $1 WHERE id = $2', [own, owned]);
      const { key: ownedKey } = await newKey(owned, 'prometheus');
      expect((await trigger('private-1', 's', ownedKey)).status).to.equal(202);
      const [incident] = await incidentsWithKey('private-1', owned);
      const reader = async (teamId: string) =>
        t.api.as((await createToken(t.deps, { name: `read ${teamId}`, scopes: ['read'], teamId, expiresAt: null }, { via: 'test' })).token);
      const path = `/incidents/${String(incident?.id)}/alerts`;
      const refused = await (await reader(other)).get(path);
      expect(refused.status, refused.text).to.equal(404);
      const shown = await (await reader(own)).get(path);
      expect(shown.status, shown.text).to.equal(200);
      expect((shown.body.items as Json[]).map((line) => line.outcome)).to.deep.equal(['opened']);
    });

    it('is append-only', async () => {
      for (const statement of ['UPDATE alert_log SET outcome = outcome', 'DELETE FROM alert_log', 'TRUNCATE alert_log']) {
        let refused: unknown;
        await t.ownerPool.query(statement).catch((error: unknown) => (refused = error));
        expect(refused, statement).to.be.instanceOf(Error);
      }
    });
  });

  function clockTick(): void {
    t.clock.advance(1_000);
  }
});
