import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseAlertmanager } from '../../src/domain/alerts/alertmanager.ts';
import type { AlertEvent, ParsedAlerts, TriggerEvent } from '../../src/domain/alerts/event.ts';
import {
  checkGrafanaSignature,
  GRAFANA_SIGNATURE_HEADER,
  GRAFANA_TIMESTAMP_HEADER,
  type GrafanaSignatureInput,
  MAX_SIGNATURE_AGE_MS,
  parseGrafana,
  verifyGrafanaSignature,
} from '../../src/domain/alerts/grafana.ts';
import type { FieldIssue } from '../../src/domain/errors.ts';

type Payload = Record<string, unknown> & { alerts: Record<string, unknown>[] };
const fixture = (name: string): Payload => JSON.parse(readFileSync(new URL(`../fixtures/alerts/${name}`, import.meta.url), 'utf8')) as Payload;

function events(result: ParsedAlerts): AlertEvent[] {
  if (!result.ok) expect.fail(`refused: ${JSON.stringify(result.errors)}`);
  return result.events;
}

function trigger(event: AlertEvent | undefined): TriggerEvent {
  if (event?.action !== 'trigger') expect.fail(`read as ${event?.action}`);
  return event;
}

function problems(result: ParsedAlerts): FieldIssue[] {
  if (result.ok) expect.fail('accepted');
  return result.errors;
}

function withAlert(change: Record<string, unknown>, group: Record<string, unknown> = {}): Payload {
  const body = fixture('grafana-firing.json');
  return { ...body, alerts: [{ ...body.alerts[0], ...change }], ...group };
}

describe('Grafana webhook payloads', () => {
  it('a firing alert is a trigger with the Alertmanager mappings and Grafana fields in details', () => {
    const body = fixture('grafana-firing.json');
    const [event, ...rest] = events(parseGrafana(body));
    expect(rest).to.deep.equal([]);
    expect(event).to.deep.equal({
      action: 'trigger',
      // The start was sent as 10:00 at +01:00.
      dedupKey: 'c6eadffa33fcdf37:2026-03-01T09:00:00.000Z',
      raw: {
        version: '1',
        receiver: 'klaxon',
        status: 'firing',
        groupKey: body.groupKey,
        externalURL: 'https://grafana.example.com/',
        truncatedAlerts: 0,
        orgId: 1,
        title: '[FIRING:1] High CPU Infrastructure (web-1 critical)',
        state: 'alerting',
        alert: body.alerts[0],
      },
      reopens: false,
      summary: 'CPU above 90% on web-1',
      description: 'CPU usage has been above 90% for 5 minutes.',
      source: 'web-1',
      severity: 'critical',
      timestamp: new Date('2026-03-01T09:00:00.000Z'),
      details: {
        labels: body.alerts[0]?.labels,
        annotations: body.alerts[0]?.annotations,
        startsAt: '2026-03-01T10:00:00+01:00',
        endsAt: null,
        generatorURL: 'https://grafana.example.com/alerting/grafana/cdeqmlhvflz40f/view?orgId=1',
        fingerprint: 'c6eadffa33fcdf37',
        externalURL: 'https://grafana.example.com/',
        groupKey: body.groupKey,
        receiver: 'klaxon',
        valueString: "[ var='B' labels={instance=web-1} value=93.4 ], [ var='C' labels={instance=web-1} value=1 ]",
        silenceURL: body.alerts[0]?.silenceURL,
        dashboardURL: 'https://grafana.example.com/d/rYdddlPWk?orgId=1',
        panelURL: 'https://grafana.example.com/d/rYdddlPWk?orgId=1&viewPanel=2',
        values: { B: 93.4, C: 1 },
        orgId: 1,
      },
    });
  });

  it("the group's message is not repeated beside each alert in raw", () => {
    expect(events(parseGrafana(fixture('grafana-firing.json')))[0]?.raw).not.to.have.property('message');
  });

  it('a firing group carrying a resolved alert resolves it by the key it fired with; empty Grafana fields are left out', () => {
    const [resolved, firing] = events(parseGrafana(fixture('grafana-partly-resolved.json')));
    expect(resolved).to.include({ action: 'resolve', dedupKey: 'c6eadffa33fcdf37:2026-03-01T09:00:00.000Z', reopens: false });
    const second = trigger(firing);
    expect(second.dedupKey).to.equal('5d1e0b7c9a3f2e81:2026-03-01T09:15:30.123Z');
    expect(second.severity).to.equal('warning');
    const partly = fixture('grafana-partly-resolved.json');
    const [, emptyFields] = events(parseGrafana({ ...partly, alerts: [partly.alerts[1], { ...partly.alerts[0], status: 'firing' }] }));
    expect(trigger(emptyFields).details).not.to.have.any.keys('dashboardURL', 'panelURL', 'valueString', 'values', 'imageURL');
  });

  it('an imageURL and ruleUID are kept; an alert without orgId takes the group one', () => {
    const [event] = events(
      parseGrafana(withAlert({ imageURL: 'https://grafana.example.com/img/a.png', ruleUID: 'cdeqmlhvflz40f', orgId: undefined }, { orgId: 3 })),
    );
    expect(trigger(event).details).to.include({ imageURL: 'https://grafana.example.com/img/a.png', ruleUID: 'cdeqmlhvflz40f', orgId: 3 });
  });

  it('a Grafana alert without summary or instance is titled by its alertname', () => {
    const [event] = events(parseGrafana(withAlert({ labels: { alertname: 'High CPU', grafana_folder: 'Infra' }, annotations: {} })));
    expect(trigger(event)).to.include({ summary: 'High CPU', source: 'klaxon', severity: 'error', description: null });
  });

  describe('refused, each problem naming its field', () => {
    const cases: { name: string; body: unknown; field: string; rule: string; message?: RegExp }[] = [
      {
        name: 'an Alertmanager payload',
        body: withAlert({}, { version: '4' }),
        field: 'version',
        rule: 'const',
        message: /must be "1".*Alertmanager webhook payload.*Alertmanager integration URL/,
      },
      { name: 'a custom payload (no version)', body: { text: 'CPU high' }, field: 'version', rule: 'required', message: /custom payload template is not/ },
      { name: 'values that are a number', body: withAlert({ values: 3 }), field: 'alerts.0.values', rule: 'type' },
      { name: 'a value that is a string', body: withAlert({ values: { B: '93.4' } }), field: 'alerts.0.values.B', rule: 'type' },
      { name: 'a dashboardURL that is a number', body: withAlert({ dashboardURL: 1 }), field: 'alerts.0.dashboardURL', rule: 'type' },
      { name: 'an alert orgId that is a string', body: withAlert({ orgId: '1' }), field: 'alerts.0.orgId', rule: 'type' },
      { name: 'a group orgId that is a fraction', body: withAlert({}, { orgId: 1.5 }), field: 'orgId', rule: 'type' },
      { name: 'a title that is an array', body: withAlert({}, { title: [] }), field: 'title', rule: 'type' },
      { name: 'a shared rule: an unknown status', body: withAlert({ status: 'alerting' }), field: 'alerts.0.status', rule: 'enum' },
    ];
    for (const { name, body, field, rule, message } of cases) {
      it(name, () => {
        const errors = problems(parseGrafana(body));
        expect(errors.map((e) => [e.field, e.rule])).to.deep.equal(
          field === 'version' && rule === 'required'
            ? [
                [field, rule],
                ['alerts', 'required'],
              ]
            : [[field, rule]],
        );
        if (message) expect(errors[0]?.message).to.match(message);
      });
    }

    it('the Alertmanager receiver refuses a Grafana payload, saying where it belongs', () => {
      const errors = problems(parseAlertmanager(fixture('grafana-firing.json')));
      expect(errors[0]?.message).to.match(/Grafana webhook payload \(version "1"\): send it to the Grafana integration URL/);
    });
  });
});

describe("Grafana's HMAC signature", () => {
  const secret = 'grafana-signing-secret-0001';
  const body = '{"version":"1"}';
  const now = new Date('2026-03-01T09:00:00.000Z');
  const seconds = String(now.getTime() / 1000);
  // Independent vectors, made with `printf '<data>' | openssl dgst -sha256 -hmac '<secret>'`.
  const SIGNED_WITH_TIMESTAMP = '910470e6f9ca68cd015d336c6d1a1dc2f2f5a9f17998512e77a0fa2f6b0020fa';
  const sign = (data: string, key = secret) => createHmac('sha256', key).update(data).digest('hex');
  const input = (change: Partial<GrafanaSignatureInput>): GrafanaSignatureInput => ({ secret, body, signature: sign(body), now, ...change });

  it("the header names: Grafana's default signature header, and the timestamp header the README asks for", () => {
    expect(GRAFANA_SIGNATURE_HEADER).to.equal('X-Grafana-Alerting-Signature');
    expect(GRAFANA_TIMESTAMP_HEADER).to.equal('X-Grafana-Alerting-Timestamp');
  });

  it('matches an independent HMAC-SHA256 over the body alone', () => {
    expect(
      verifyGrafanaSignature({ secret: 'secret', body: 'test message', signature: '3bcebf43c85d20bba6e3b6ba278af1d2ba3ab0d57de271b0ad30b833e851c5a6', now }),
    ).to.equal(true);
  });

  it('matches an independent HMAC-SHA256 over "<unix seconds>:<body>" when a timestamp is sent', () => {
    expect(verifyGrafanaSignature(input({ signature: SIGNED_WITH_TIMESTAMP, timestamp: seconds }))).to.equal(true);
  });

  it('takes the body as bytes or text, and the hex in either case', () => {
    expect(verifyGrafanaSignature(input({ body: Buffer.from(body) }))).to.equal(true);
    expect(verifyGrafanaSignature(input({ body: new Uint8Array(Buffer.from(body)) }))).to.equal(true);
    expect(verifyGrafanaSignature(input({ signature: sign(body).toUpperCase() }))).to.equal(true);
  });

  const refusals: [string, Partial<GrafanaSignatureInput>, string][] = [
    ['no signature', { signature: undefined }, 'missing'],
    ['an empty signature', { signature: ' ' }, 'missing'],
    ['a signature that is not hex', { signature: 'z'.repeat(64) }, 'malformed'],
    ['a signature of the wrong length', { signature: sign(body).slice(0, 62) }, 'malformed'],
    ['a base64 signature', { signature: createHmac('sha256', secret).update(body).digest('base64') }, 'malformed'],
    ['another secret', { signature: sign(body, 'another-secret-0000000') }, 'mismatch'],
    ['a changed body', { body: '{"version":"1" }' }, 'mismatch'],
    ['a timestamp the signature did not cover', { timestamp: seconds }, 'mismatch'],
    ['a signature over a timestamp that was not sent', { signature: SIGNED_WITH_TIMESTAMP }, 'mismatch'],
    ['a timestamp that is not Unix seconds', { timestamp: '2026-03-01T09:00:00Z' }, 'malformed'],
    ['a timestamp six minutes old', { timestamp: String(Number(seconds) - 360), signature: sign(`${Number(seconds) - 360}:${body}`) }, 'stale'],
    ['a timestamp six minutes ahead', { timestamp: String(Number(seconds) + 360), signature: sign(`${Number(seconds) + 360}:${body}`) }, 'stale'],
  ];
  for (const [name, change, reason] of refusals) {
    it(`refuses ${name} (${reason})`, () => {
      const check = checkGrafanaSignature(input(change));
      expect(check).to.include({ ok: false, reason });
      expect(verifyGrafanaSignature(input(change))).to.equal(false);
    });
  }

  it(`takes a timestamp up to ${MAX_SIGNATURE_AGE_MS / 60_000} minutes either side of now`, () => {
    for (const offset of [-300, -240, 0, 240, 300]) {
      const timestamp = String(Number(seconds) + offset);
      expect(verifyGrafanaSignature(input({ timestamp, signature: sign(`${timestamp}:${body}`) })), String(offset)).to.equal(true);
    }
    const late = String(Number(seconds) - 301);
    expect(checkGrafanaSignature(input({ timestamp: late, signature: sign(`${late}:${body}`) }))).to.include({ reason: 'stale' });
  });
});
