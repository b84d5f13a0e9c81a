import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { alertDedupKey, MAX_ALERTS_PER_PAYLOAD, parseAlertmanager, severityFromLabel } from '../../src/domain/alerts/alertmanager.ts';
import type { AlertEvent, ParsedAlerts, TriggerEvent } from '../../src/domain/alerts/event.ts';
import type { FieldIssue } from '../../src/domain/errors.ts';

const FIXTURES = new URL('../fixtures/alerts/', import.meta.url);
type Payload = Record<string, unknown> & { alerts: Record<string, unknown>[] };
const fixture = (name: string): Payload => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as Payload;

function events(result: ParsedAlerts): AlertEvent[] {
  if (!result.ok) expect.fail(`refused: ${JSON.stringify(result.errors)}`);
  return result.events;
}

function triggers(result: ParsedAlerts): TriggerEvent[] {
  return events(result).map((event) => {
    if (event.action !== 'trigger') expect.fail(`read as ${event.action}`);
    return event;
  });
}

function problems(result: ParsedAlerts): FieldIssue[] {
  if (result.ok) expect.fail('accepted');
  return result.errors;
}

/** A payload of one alert, from the real capture, with the alert's fields changed. */
function withAlert(change: Record<string, unknown>, group: Record<string, unknown> = {}): Payload {
  const body = fixture('alertmanager-real-firing.json');
  return { ...body, alerts: [{ ...body.alerts[0], ...change }], ...group };
}

describe('Alertmanager webhook payloads', () => {
  describe('real payloads captured from prometheus-alertmanager', () => {
    it('a firing alert is a trigger keyed by fingerprint and start, with every mapping', () => {
      const body = fixture('alertmanager-real-firing.json');
      const [event, ...rest] = events(parseAlertmanager(body));
      expect(rest).to.deep.equal([]);
      expect(event).to.deep.equal({
        action: 'trigger',
        dedupKey: 'ead1e691b49e9e28:2026-11-29T03:51:33.456Z',
        raw: {
          version: '4',
          receiver: 'klaxon',
          status: 'firing',
          groupKey: '{}:{alertname="HighLatency"}',
          externalURL: 'http://127.0.0.1:37567',
          truncatedAlerts: 0,
          alert: body.alerts[0],
        },
        reopens: false,
        summary: 'p99 latency above 2s on api-1',
        description: 'p99 latency has been above 2 seconds for 5 minutes',
        source: 'api-1:9100',
        severity: 'critical',
        timestamp: new Date('2026-11-29T03:51:33.456Z'),
        details: {
          labels: { alertname: 'HighLatency', instance: 'api-1:9100', job: 'api', severity: 'critical' },
          annotations: { description: 'p99 latency has been above 2 seconds for 5 minutes', summary: 'p99 latency above 2s on api-1' },
          startsAt: '2026-11-29T03:51:33.456580312Z',
          endsAt: null,
          generatorURL: 'http://prometheus.example:9090/graph?g0.expr=latency',
          fingerprint: 'ead1e691b49e9e28',
          externalURL: 'http://127.0.0.1:37567',
          groupKey: '{}:{alertname="HighLatency"}',
          receiver: 'klaxon',
        },
      });
    });

    it('a re-send of the same alert has the same key (idempotent)', () => {
      const [first] = events(parseAlertmanager(fixture('alertmanager-real-firing.json')));
      const [again] = events(parseAlertmanager(fixture('alertmanager-real-resend.json')));
      expect(again?.dedupKey).to.equal(first?.dedupKey);
    });

    it('a group that changed carries each alert with its own key, the first one unchanged', () => {
      const keys = events(parseAlertmanager(fixture('alertmanager-real-group-change.json'))).map((e) => [e.action, e.dedupKey]);
      expect(keys).to.deep.equal([
        ['trigger', 'ead1e691b49e9e28:2026-11-29T03:51:33.456Z'],
        ['trigger', '9a91028e696b91d0:2026-11-29T03:51:36.590Z'],
      ]);
    });

    it('a firing group carrying a resolved alert resolves that alert, by the key it fired with', () => {
      const read = events(parseAlertmanager(fixture('alertmanager-real-partly-resolved.json')));
      expect(read.map((e) => [e.action, e.dedupKey])).to.deep.equal([
        ['resolve', 'ead1e691b49e9e28:2026-11-29T03:51:33.456Z'],
        ['trigger', '9a91028e696b91d0:2026-11-29T03:51:36.590Z'],
      ]);
      expect(read[0]).to.include({ reopens: false });
      expect(read[0]).not.to.have.property('summary');
    });

    it('a resolved group resolves its alert', () => {
      const read = events(parseAlertmanager(fixture('alertmanager-real-resolved.json')));
      expect(read.map((e) => [e.action, e.dedupKey])).to.deep.equal([['resolve', '9a91028e696b91d0:2026-11-29T03:51:36.590Z']]);
    });

    it('the same alert firing again after it ended is a new occurrence: same fingerprint, another key', () => {
      const [before] = events(parseAlertmanager(fixture('alertmanager-real-truncated.json')));
      const [after] = events(parseAlertmanager(fixture('alertmanager-real-recurrence.json')));
      expect(before?.dedupKey).to.equal('8c77d5865e910658:2026-11-29T03:51:58.458Z');
      expect(after?.dedupKey).to.equal('8c77d5865e910658:2026-11-29T03:51:59.602Z');
    });

    it('a truncated group yields only the alerts it carries, and says it was truncated in raw', () => {
      const read = events(parseAlertmanager(fixture('alertmanager-real-truncated.json')));
      expect(read).to.have.length(1);
      expect(read[0]?.raw).to.include({ truncatedAlerts: 2 });
    });

    it('every captured payload parses, each alert read with its own status', () => {
      const names = readdirSync(FIXTURES).filter((name) => name.startsWith('alertmanager-real'));
      expect(names).to.have.length.greaterThan(0);
      for (const name of names) {
        const body = fixture(name);
        const read = events(parseAlertmanager(body));
        expect(
          read.map((e) => e.action),
          name,
        ).to.deep.equal(body.alerts.map((a) => (a.status === 'firing' ? 'trigger' : 'resolve')));
      }
    });
  });

  describe('mappings', () => {
    it('an endsAt in year 1 is none; a real endsAt is kept as sent', () => {
      expect(triggers(parseAlertmanager(withAlert({ endsAt: '0001-01-01T00:00:00Z' })))[0]?.details.endsAt).to.equal(null);
      expect(triggers(parseAlertmanager(withAlert({ endsAt: '2026-11-29T04:00:00Z' })))[0]?.details.endsAt).to.equal('2026-11-29T04:00:00Z');
      expect(triggers(parseAlertmanager(withAlert({ endsAt: null })))[0]?.details.endsAt).to.equal(null);
    });

    it('a startsAt in year 1 (a sender that set none) is no timestamp, and still a stable key', () => {
      const [event] = triggers(parseAlertmanager(withAlert({ startsAt: '0001-01-01T00:00:00Z' })));
      expect(event?.timestamp).to.equal(null);
      expect(event?.dedupKey).to.equal('ead1e691b49e9e28:0001-01-01T00:00:00.000Z');
    });

    it('without a fingerprint, the one Alertmanager computes from the labels is used: the same key as a sender that sent it', () => {
      const alert: Record<string, unknown> = { ...fixture('alertmanager-real-firing.json').alerts[0] };
      delete alert.fingerprint;
      const body = { ...fixture('alertmanager-real-firing.json'), alerts: [alert] };
      const [event] = triggers(parseAlertmanager(body));
      expect(event?.dedupKey).to.equal('ead1e691b49e9e28:2026-11-29T03:51:33.456Z');
      expect(event?.details).to.include({ fingerprint: 'ead1e691b49e9e28', fingerprintDerived: true });
      for (const blank of ['', null]) {
        expect(events(parseAlertmanager(withAlert({ fingerprint: blank })))[0]?.dedupKey).to.equal('ead1e691b49e9e28:2026-11-29T03:51:33.456Z');
      }
    });

    it('the derived fingerprint sorts labels as Go does, whatever order they were sent in', () => {
      const labels = { severity: 'critical', job: 'api', instance: 'api-1:9100', alertname: 'HighLatency' };
      expect(events(parseAlertmanager(withAlert({ labels, fingerprint: undefined })))[0]?.dedupKey).to.match(/^ead1e691b49e9e28:/);
    });

    it('the key holds the start as an instant: another offset or precision for the same instant is the same key', () => {
      const same = ['2026-11-29T03:51:33.456Z', '2026-11-29T04:51:33.456+01:00', '2026-11-29T03:51:33.456999999Z', '2026-11-28T22:51:33.456-05:00'];
      for (const startsAt of same) {
        expect(events(parseAlertmanager(withAlert({ startsAt })))[0]?.dedupKey, startsAt).to.equal('ead1e691b49e9e28:2026-11-29T03:51:33.456Z');
      }
      expect(alertDedupKey('f'.repeat(128), new Date('2026-11-29T03:51:33.456Z'))).to.have.length.at.most(255);
    });

    it('without a summary annotation, the title is the alertname and where it fires', () => {
      const cases: [Record<string, string>, string][] = [
        [{ alertname: 'HighLatency', instance: 'api-1:9100', job: 'api' }, 'HighLatency on api-1:9100 (job api)'],
        [{ alertname: 'HighLatency', job: 'api' }, 'HighLatency (job api)'],
        [{ alertname: 'HighLatency' }, 'HighLatency'],
        [{ instance: 'db-1' }, 'Alertmanager alert on db-1'],
        [{ env: 'prod', team: 'db' }, 'Alertmanager alert {env="prod", team="db"}'],
        [{}, 'Alertmanager alert {}'],
      ];
      for (const [labels, title] of cases) {
        expect(triggers(parseAlertmanager(withAlert({ labels, annotations: { summary: '  ' } })))[0]?.summary).to.equal(title);
      }
    });

    it('no description annotation is no description', () => {
      expect(triggers(parseAlertmanager(withAlert({ annotations: {} })))[0]?.description).to.equal(null);
      expect(triggers(parseAlertmanager(withAlert({ annotations: undefined })))[0]?.description).to.equal(null);
    });

    it('a long summary is cut to 500 characters and a long description to 10,000; the annotations keep both whole', () => {
      const annotations = { summary: 's'.repeat(2000), description: 'd'.repeat(20_000) };
      const [event] = triggers(parseAlertmanager(withAlert({ annotations })));
      expect(event?.summary).to.equal(`${'s'.repeat(499)}…`);
      expect(event?.description).to.equal(`${'d'.repeat(9999)}…`);
      expect(event?.details.annotations).to.deep.equal(annotations);
    });

    it('source: the instance label, else the job, else the receiver, else "Alertmanager"; cut to 255', () => {
      const source = (labels: Record<string, string>, receiver?: string) => triggers(parseAlertmanager(withAlert({ labels }, { receiver })))[0]?.source;
      expect(source({ instance: 'db-1', job: 'node' })).to.equal('db-1');
      expect(source({ job: 'node' })).to.equal('node');
      expect(source({ instance: '' }, 'team-db')).to.equal('team-db');
      expect(source({}, undefined)).to.equal('Alertmanager');
      expect(source({ instance: 'i'.repeat(300) })).to.equal(`${'i'.repeat(254)}…`);
    });

    it('severity labels map to the four severities; none or an unknown word is error', () => {
      const cases: [string | undefined, string][] = [
        ['critical', 'critical'],
        ['error', 'error'],
        ['warning', 'warning'],
        ['info', 'info'],
        ['page', 'critical'],
        ['High', 'critical'],
        [' MAJOR ', 'critical'],
        ['P1', 'critical'],
        ['err', 'error'],
        ['warn', 'warning'],
        ['minor', 'warning'],
        ['low', 'warning'],
        ['notice', 'info'],
        ['none', 'info'],
        ['whatever', 'error'],
        ['', 'error'],
        [undefined, 'error'],
      ];
      for (const [label, severity] of cases) expect(severityFromLabel(label), String(label)).to.equal(severity);
      expect(triggers(parseAlertmanager(withAlert({ labels: { alertname: 'x', severity: 'page' } })))[0]?.severity).to.equal('critical');
      expect(triggers(parseAlertmanager(withAlert({ labels: { alertname: 'x' } })))[0]?.severity).to.equal('error');
    });

    it('an empty alert list is no events', () => {
      expect(events(parseAlertmanager({ ...fixture('alertmanager-real-firing.json'), alerts: [] }))).to.deep.equal([]);
    });

    it(`${MAX_ALERTS_PER_PAYLOAD} alerts are read, each its own event`, () => {
      const body = fixture('alertmanager-real-firing.json');
      const alerts = Array.from({ length: MAX_ALERTS_PER_PAYLOAD }, (_, i) => ({
        ...body.alerts[0],
        labels: { alertname: 'A', instance: `h${i}` },
        fingerprint: '',
      }));
      const keys = new Set(events(parseAlertmanager({ ...body, alerts })).map((e) => e.dedupKey));
      expect(keys.size).to.equal(MAX_ALERTS_PER_PAYLOAD);
    });
  });

  describe('refused, each problem naming its field', () => {
    const alert = fixture('alertmanager-real-firing.json').alerts[0] as Record<string, unknown>;
    const atIndex3 = (change: Record<string, unknown>) => ({
      ...fixture('alertmanager-real-firing.json'),
      alerts: [alert, alert, alert, { ...alert, ...change }],
    });
    const cases: { name: string; body: unknown; field: string; rule: string; message?: RegExp }[] = [
      { name: 'a body that is an array', body: [], field: '(body)', rule: 'type' },
      { name: 'no version', body: withAlert({}, { version: undefined }), field: 'version', rule: 'required' },
      { name: 'version "3"', body: withAlert({}, { version: '3' }), field: 'version', rule: 'const', message: /must be "4".*not "3"$/ },
      { name: 'version 4 as a number', body: withAlert({}, { version: 4 }), field: 'version', rule: 'const', message: /not a number/ },
      {
        name: 'a Grafana payload',
        body: withAlert({}, { version: '1' }),
        field: 'version',
        rule: 'const',
        message: /Grafana webhook payload.*Grafana integration URL/,
      },
      { name: 'no alerts', body: withAlert({}, { alerts: undefined }), field: 'alerts', rule: 'required' },
      { name: 'alerts that are an object', body: withAlert({}, { alerts: { 0: alert } }), field: 'alerts', rule: 'type' },
      {
        name: `more than ${MAX_ALERTS_PER_PAYLOAD} alerts`,
        body: withAlert({}, { alerts: Array.from({ length: MAX_ALERTS_PER_PAYLOAD + 1 }, () => alert) }),
        field: 'alerts',
        rule: 'maxItems',
        message: /holds 1001 alerts; at most 1000/,
      },
      { name: 'an alert that is a string', body: { ...withAlert({}), alerts: [alert, 'x'] }, field: 'alerts.1', rule: 'type' },
      { name: 'an unknown status', body: atIndex3({ status: 'pending' }), field: 'alerts.3.status', rule: 'enum' },
      { name: 'no status', body: atIndex3({ status: undefined }), field: 'alerts.3.status', rule: 'required' },
      { name: 'no labels', body: atIndex3({ labels: undefined }), field: 'alerts.3.labels', rule: 'required' },
      { name: 'labels that are an array', body: atIndex3({ labels: ['a'] }), field: 'alerts.3.labels', rule: 'type' },
      { name: 'a label value that is a number', body: atIndex3({ labels: { alertname: 'x', severity: 2 } }), field: 'alerts.3.labels.severity', rule: 'type' },
      { name: 'annotations that are a string', body: atIndex3({ annotations: 'x' }), field: 'alerts.3.annotations', rule: 'type' },
      { name: 'an annotation that is an object', body: atIndex3({ annotations: { summary: { a: 1 } } }), field: 'alerts.3.annotations.summary', rule: 'type' },
      { name: 'no startsAt', body: atIndex3({ startsAt: undefined }), field: 'alerts.3.startsAt', rule: 'required' },
      { name: 'a startsAt that is not a date', body: atIndex3({ startsAt: 'now' }), field: 'alerts.3.startsAt', rule: 'format' },
      { name: 'a startsAt without an offset', body: atIndex3({ startsAt: '2026-11-29T03:51:33' }), field: 'alerts.3.startsAt', rule: 'format' },
      { name: 'a startsAt in epoch milliseconds', body: atIndex3({ startsAt: 1764388293456 }), field: 'alerts.3.startsAt', rule: 'format' },
      { name: 'an endsAt that is not a date', body: atIndex3({ endsAt: 'never' }), field: 'alerts.3.endsAt', rule: 'format' },
      { name: 'a fingerprint that is a number', body: atIndex3({ fingerprint: 123 }), field: 'alerts.3.fingerprint', rule: 'type' },
      { name: 'a fingerprint of 129 characters', body: atIndex3({ fingerprint: 'f'.repeat(129) }), field: 'alerts.3.fingerprint', rule: 'maxLength' },
      { name: 'a generatorURL that is an object', body: atIndex3({ generatorURL: {} }), field: 'alerts.3.generatorURL', rule: 'type' },
      { name: 'a receiver that is a number', body: withAlert({}, { receiver: 1 }), field: 'receiver', rule: 'type' },
      { name: 'a negative truncatedAlerts', body: withAlert({}, { truncatedAlerts: -1 }), field: 'truncatedAlerts', rule: 'type' },
      { name: 'commonLabels that are an array', body: withAlert({}, { commonLabels: [] }), field: 'commonLabels', rule: 'type' },
      { name: 'a label holding U+0000', body: atIndex3({ labels: { alertname: 'x\u0000' } }), field: 'alerts.3.labels.alertname', rule: 'format' },
      {
        name: 'an unknown field nested 50 deep',
        body: withAlert({}, { extra: JSON.parse('{"a":'.repeat(50) + '1' + '}'.repeat(50)) as unknown }),
        field: `extra${'.a'.repeat(31)}`,
        rule: 'maxDepth',
      },
    ];
    for (const { name, body, field, rule, message } of cases) {
      it(name, () => {
        const errors = problems(parseAlertmanager(body));
        expect(errors.map((e) => [e.field, e.rule])).to.deep.equal([[field, rule]]);
        if (message) expect(errors[0]?.message).to.match(message);
      });
    }

    it('every problem of every alert is reported, each with its index', () => {
      const body = { ...withAlert({}), alerts: [{ ...alert, status: 'x' }, alert, { ...alert, startsAt: 'y', labels: null }] };
      expect(problems(parseAlertmanager(body)).map((e) => e.field)).to.deep.equal(['alerts.0.status', 'alerts.2.labels', 'alerts.2.startsAt']);
    });

    it('one bad alert refuses the whole payload (Alertmanager does not retry a 400, so its log must say why)', () => {
      const body = { ...withAlert({}), alerts: [alert, { ...alert, status: 'unknown' }] };
      expect(parseAlertmanager(body).ok).to.equal(false);
    });

    it('no input makes it throw', () => {
      const odd: unknown[] = [undefined, null, 1, 'x', {}, { version: '4', alerts: [null, [], 1, { labels: 'x', annotations: [], startsAt: {} }] }];
      for (const body of odd) expect(() => parseAlertmanager(body)).not.to.throw();
    });
  });
});
