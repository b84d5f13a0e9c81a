import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parseEventsV2, type EventsV2Parse } from '../../src/domain/alerts/events-v2.ts';
import type { TriggerEvent } from '../../src/domain/alerts/event.ts';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/alerts/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

const KEY = 'klxr3n5q8w1e7r2t9y4u6i0o3p5a8s1d';
const trigger = (payload: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => ({
  routing_key: KEY,
  event_action: 'trigger',
  payload: { summary: 'Disk full on db-1', source: 'db-1', severity: 'error', ...payload },
  ...top,
});

function accepted(result: EventsV2Parse) {
  if (!result.ok) expect.fail(`refused: ${result.errors.join('; ')}`);
  return result;
}

function triggered(result: EventsV2Parse): TriggerEvent {
  const { event } = accepted(result);
  if (event.action !== 'trigger') expect.fail(`read as ${event.action}`);
  return event;
}

function refused(result: EventsV2Parse) {
  if (result.ok) expect.fail('accepted');
  return result;
}

describe('Events API v2 payloads', () => {
  describe('read as events', () => {
    it('a full trigger keeps every field: summary, source, severity and timestamp on the event, the rest in details', () => {
      const body = fixture('events-v2-trigger.json');
      const result = accepted(parseEventsV2(body));
      const raw: Record<string, unknown> = { ...body };
      delete raw.routing_key;
      expect(result.routingKey).to.equal(KEY);
      expect(result.event).to.deep.equal({
        action: 'trigger',
        dedupKey: 'api-stats-prod-003/postgres/replication-lag',
        raw,
        reopens: true,
        summary: 'Replication lag above 30 s on api-stats-prod-003',
        description: null,
        source: 'monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003',
        severity: 'critical',
        timestamp: new Date('2015-07-17T08:42:58.315Z'),
        details: {
          component: 'postgres',
          group: 'prod-datapipe',
          class: 'replication lag',
          custom_details: {
            'lag seconds': 42.5,
            replica: 'api-stats-prod-003-replica-2',
            checks: [{ name: 'pg_stat_replication', ok: false }],
          },
          images: [
            {
              src: 'https://monitoring.example.com/graphs/replication-lag.png',
              href: 'https://monitoring.example.com/dashboards/postgres',
              alt: 'Replication lag, last hour',
            },
          ],
          links: [{ href: 'https://runbooks.example.com/postgres/replication-lag', text: 'Runbook' }],
          client: 'Sample Monitoring Service',
          client_url: 'https://monitoring.example.com',
        },
      });
    });

    it('the routing key never reaches raw (it is logged), and the body itself is not changed', () => {
      const body = fixture('events-v2-trigger.json');
      const { event } = accepted(parseEventsV2(body));
      expect(event.raw).not.to.have.property('routing_key');
      expect(body).to.have.property('routing_key', KEY);
    });

    for (const action of ['acknowledge', 'resolve'] as const) {
      it(`${action} acts by dedup_key, with no payload needed`, () => {
        const result = accepted(parseEventsV2(fixture(`events-v2-${action}.json`)));
        expect(result.event).to.deep.equal({
          action,
          dedupKey: 'api-stats-prod-003/postgres/replication-lag',
          raw: { dedup_key: 'api-stats-prod-003/postgres/replication-lag', event_action: action },
          reopens: true,
        });
      });
    }

    it('a trigger after a resolve is a new problem: reopens is true', () => {
      expect(triggered(parseEventsV2(trigger())).reopens).to.equal(true);
    });

    it('a trigger without a dedup_key, or with an empty or blank one, has none (intake makes one)', () => {
      for (const dedup of [undefined, null, '', '   ']) {
        expect(triggered(parseEventsV2(trigger({}, { dedup_key: dedup }))).dedupKey, String(dedup)).to.equal(null);
      }
    });

    it('a dedup_key of exactly 255 characters is taken as sent', () => {
      const key = 'k'.repeat(254) + '😀';
      expect(triggered(parseEventsV2(trigger({}, { dedup_key: key }))).dedupKey).to.equal(key);
    });

    it('fields the API does not know are ignored, and kept in raw', () => {
      const event = triggered(parseEventsV2(trigger({ extra: 1 }, { service_key: 'x', contexts: [{ type: 'link' }] })));
      expect(event.raw).to.include({ service_key: 'x' });
      expect(event.details).to.deep.equal({});
    });

    it('null optional fields count as absent', () => {
      const event = triggered(
        parseEventsV2(
          trigger({ timestamp: null, component: null, group: null, class: null, custom_details: null }, { links: null, images: null, client: null }),
        ),
      );
      expect(event.timestamp).to.equal(null);
      expect(event.details).to.deep.equal({});
    });

    it('each severity is taken as it is', () => {
      for (const severity of ['critical', 'error', 'warning', 'info']) {
        expect(triggered(parseEventsV2(trigger({ severity }))).severity).to.equal(severity);
      }
    });

    it('timestamps: any ISO 8601 offset, fractions to nanoseconds, and none read as UTC', () => {
      const cases: [string, string][] = [
        ['2026-03-01T09:00:00Z', '2026-03-01T09:00:00.000Z'],
        ['2026-03-01T10:00:00+01:00', '2026-03-01T09:00:00.000Z'],
        ['2026-03-01T10:00:00.5+0100', '2026-03-01T09:00:00.500Z'],
        ['2026-03-01T04:00:00-05', '2026-03-01T09:00:00.000Z'],
        ['2026-03-01T09:00:00.123456789Z', '2026-03-01T09:00:00.123Z'],
        ['2026-03-01T09:00:00', '2026-03-01T09:00:00.000Z'],
        ['2026-03-01 09:00:00Z', '2026-03-01T09:00:00.000Z'],
      ];
      for (const [sent, instant] of cases) {
        expect(triggered(parseEventsV2(trigger({ timestamp: sent }))).timestamp?.toISOString(), sent).to.equal(instant);
      }
    });

    it('a summary over 500 characters is cut for the title with an ellipsis, and kept whole in details.summary', () => {
      const summary = 'x'.repeat(499) + 'yz' + 'w'.repeat(300);
      const event = triggered(parseEventsV2(trigger({ summary })));
      expect(event.summary).to.have.length(500);
      expect(event.summary).to.equal('x'.repeat(499) + '…');
      expect(event.details.summary).to.equal(summary);
    });

    it('a summary of 500 characters is the title whole, and details carry no copy', () => {
      const summary = 's'.repeat(500);
      const event = triggered(parseEventsV2(trigger({ summary })));
      expect(event.summary).to.equal(summary);
      expect(event.details).not.to.have.property('summary');
    });

    it('lengths count characters, not UTF-16 units: a summary of 1024 emoji is taken, cut without splitting one', () => {
      const event = triggered(parseEventsV2(trigger({ summary: '😀'.repeat(1024) })));
      expect(Array.from(event.summary)).to.have.length(500);
      expect(event.summary.endsWith('😀…')).to.equal(true);
    });

    it('custom_details may be any JSON, a string or an array included', () => {
      for (const details of ['free text', [1, 2, 3], 7, true, { a: { b: { c: [{ d: 1 }] } } }]) {
        expect(triggered(parseEventsV2(trigger({ custom_details: details }))).details.custom_details).to.deep.equal(details);
      }
    });
  });

  describe('refused, each problem naming its field and rule', () => {
    const long = (n: number) => 'a'.repeat(n);
    const deep = (levels: number): unknown => {
      let value: unknown = 'bottom';
      for (let i = 0; i < levels; i += 1) value = { a: value };
      return value;
    };
    const cases: { name: string; body: unknown; error: string; field: string; rule: string }[] = [
      { name: 'a body that is an array', body: [trigger()], error: 'The event must be a JSON object (not an array)', field: '(body)', rule: 'type' },
      { name: 'a body that is a string', body: 'trigger', error: 'The event must be a JSON object (not a string)', field: '(body)', rule: 'type' },
      { name: 'a body that is null', body: null, error: 'The event must be a JSON object (not null)', field: '(body)', rule: 'type' },
      {
        name: 'no routing_key',
        body: trigger({}, { routing_key: undefined }),
        error: "'routing_key' is missing or blank",
        field: 'routing_key',
        rule: 'required',
      },
      {
        name: 'a blank routing_key',
        body: trigger({}, { routing_key: '  ' }),
        error: "'routing_key' is missing or blank",
        field: 'routing_key',
        rule: 'required',
      },
      {
        name: 'a routing_key that is a number',
        body: trigger({}, { routing_key: 12345 }),
        error: "'routing_key' must be a string (not a number)",
        field: 'routing_key',
        rule: 'type',
      },
      {
        name: 'a routing_key of 65 characters',
        body: trigger({}, { routing_key: long(65) }),
        error: "Length of 'routing_key' is incorrect (should be 32 characters)",
        field: 'routing_key',
        rule: 'maxLength',
      },
      {
        name: 'no event_action',
        body: trigger({}, { event_action: undefined }),
        error: "'event_action' is missing or blank",
        field: 'event_action',
        rule: 'required',
      },
      {
        name: 'an unknown event_action',
        body: trigger({}, { event_action: 'fire' }),
        error: "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')",
        field: 'event_action',
        rule: 'enum',
      },
      {
        name: 'an event_action in capitals',
        body: trigger({}, { event_action: 'TRIGGER' }),
        error: "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')",
        field: 'event_action',
        rule: 'enum',
      },
      {
        name: 'an acknowledge without dedup_key',
        body: { routing_key: KEY, event_action: 'acknowledge' },
        error: "'dedup_key' is missing or blank",
        field: 'dedup_key',
        rule: 'required',
      },
      {
        name: 'a resolve with an empty dedup_key',
        body: { routing_key: KEY, event_action: 'resolve', dedup_key: '' },
        error: "'dedup_key' is missing or blank",
        field: 'dedup_key',
        rule: 'required',
      },
      {
        name: 'a dedup_key of 256 characters',
        body: trigger({}, { dedup_key: long(256) }),
        error: "'dedup_key' is too long (at most 255 characters)",
        field: 'dedup_key',
        rule: 'maxLength',
      },
      {
        name: 'a dedup_key that is a number',
        body: { routing_key: KEY, event_action: 'resolve', dedup_key: 42 },
        error: "'dedup_key' must be a string (not a number)",
        field: 'dedup_key',
        rule: 'type',
      },
      {
        name: 'a trigger without payload',
        body: { routing_key: KEY, event_action: 'trigger' },
        error: "'payload' is missing or blank",
        field: 'payload',
        rule: 'required',
      },
      {
        name: 'a payload that is an array',
        body: { routing_key: KEY, event_action: 'trigger', payload: [{ summary: 's', source: 's', severity: 'info' }] },
        error: "'payload' must be a JSON object (not an array)",
        field: 'payload',
        rule: 'type',
      },
      {
        name: 'no summary',
        body: trigger({ summary: undefined }),
        error: "'payload.summary' is missing or blank",
        field: 'payload.summary',
        rule: 'required',
      },
      {
        name: 'a blank summary',
        body: trigger({ summary: ' \n ' }),
        error: "'payload.summary' is missing or blank",
        field: 'payload.summary',
        rule: 'required',
      },
      {
        name: 'a summary that is a number',
        body: trigger({ summary: 500 }),
        error: "'payload.summary' must be a string (not a number)",
        field: 'payload.summary',
        rule: 'type',
      },
      {
        name: 'a summary that is an object',
        body: trigger({ summary: { text: 'x' } }),
        error: "'payload.summary' must be a string (not an object)",
        field: 'payload.summary',
        rule: 'type',
      },
      {
        name: 'a summary of 1025 characters',
        body: trigger({ summary: long(1025) }),
        error: "'payload.summary' is too long (at most 1024 characters)",
        field: 'payload.summary',
        rule: 'maxLength',
      },
      { name: 'no source', body: trigger({ source: undefined }), error: "'payload.source' is missing or blank", field: 'payload.source', rule: 'required' },
      {
        name: 'a source of 256 characters',
        body: trigger({ source: long(256) }),
        error: "'payload.source' is too long (at most 255 characters)",
        field: 'payload.source',
        rule: 'maxLength',
      },
      {
        name: 'no severity',
        body: trigger({ severity: undefined }),
        error: "'payload.severity' is missing or blank",
        field: 'payload.severity',
        rule: 'required',
      },
      {
        name: 'an unknown severity',
        body: trigger({ severity: 'fatal' }),
        error: "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')",
        field: 'payload.severity',
        rule: 'enum',
      },
      {
        name: 'a severity that is a number',
        body: trigger({ severity: 1 }),
        error: "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')",
        field: 'payload.severity',
        rule: 'enum',
      },
      {
        name: 'a timestamp that is not a date',
        body: trigger({ timestamp: 'yesterday' }),
        error: "'payload.timestamp' is invalid (must be an ISO 8601 date and time, such as 2026-03-01T09:00:00Z)",
        field: 'payload.timestamp',
        rule: 'format',
      },
      {
        name: 'a timestamp on the 30th of February',
        body: trigger({ timestamp: '2026-02-30T09:00:00Z' }),
        error: "'payload.timestamp' is invalid (must be an ISO 8601 date and time, such as 2026-03-01T09:00:00Z)",
        field: 'payload.timestamp',
        rule: 'format',
      },
      {
        name: 'a timestamp in epoch seconds',
        body: trigger({ timestamp: 1772355600 }),
        error: "'payload.timestamp' is invalid (must be an ISO 8601 date and time, such as 2026-03-01T09:00:00Z)",
        field: 'payload.timestamp',
        rule: 'format',
      },
      {
        name: 'a component that is a number',
        body: trigger({ component: 3 }),
        error: "'payload.component' must be a string (not a number)",
        field: 'payload.component',
        rule: 'type',
      },
      {
        name: 'a class that is an array',
        body: trigger({ class: ['a'] }),
        error: "'payload.class' must be a string (not an array)",
        field: 'payload.class',
        rule: 'type',
      },
      {
        name: 'links that are an object',
        body: trigger({}, { links: { href: 'https://x' } }),
        error: "'links' must be an array of objects (not an object)",
        field: 'links',
        rule: 'type',
      },
      {
        name: 'a link without href',
        body: trigger({}, { links: [{ href: 'https://x' }, { text: 'runbook' }] }),
        error: "'links.1.href' is missing or blank",
        field: 'links.1.href',
        rule: 'required',
      },
      {
        name: 'a link whose text is a number',
        body: trigger({}, { links: [{ href: 'https://x', text: 1 }] }),
        error: "'links.0.text' must be a string (not a number)",
        field: 'links.0.text',
        rule: 'type',
      },
      {
        name: 'a link that is a string',
        body: trigger({}, { links: ['https://x'] }),
        error: "'links.0' must be an object (not a string)",
        field: 'links.0',
        rule: 'type',
      },
      {
        name: 'an image whose src is a number',
        body: trigger({}, { images: [{ src: 'https://x/a.png' }, { src: 7 }] }),
        error: "'images.1.src' must be a string (not a number)",
        field: 'images.1.src',
        rule: 'type',
      },
      {
        name: 'an image whose alt is an object',
        body: trigger({}, { images: [{ src: 'https://x/a.png', alt: {} }] }),
        error: "'images.0.alt' must be a string (not an object)",
        field: 'images.0.alt',
        rule: 'type',
      },
      {
        name: 'a client that is a boolean',
        body: trigger({}, { client: true }),
        error: "'client' must be a string (not a boolean)",
        field: 'client',
        rule: 'type',
      },
      {
        name: 'custom_details nested 40 deep',
        body: trigger({ custom_details: deep(40) }),
        error: `'payload.custom_details${'.a'.repeat(30)}' nests too deep (at most 32 levels of objects and arrays)`,
        field: `payload.custom_details${'.a'.repeat(30)}`,
        rule: 'maxDepth',
      },
      {
        name: 'a summary holding U+0000',
        body: trigger({ summary: 'disk\u0000full' }),
        error: "'payload.summary' must not contain the character U+0000 (NUL)",
        field: 'payload.summary',
        rule: 'format',
      },
      {
        name: 'custom_details holding a lone surrogate',
        body: trigger({ custom_details: { note: 'x\ud800y' } }),
        error: "'payload.custom_details.note' must be well-formed Unicode (it holds a lone surrogate)",
        field: 'payload.custom_details.note',
        rule: 'format',
      },
      {
        name: 'custom_details with a key holding U+0000',
        body: trigger({ custom_details: { 'a\u0000': 1 } }),
        error: "'payload.custom_details.a\u0000' has a key that must not contain the character U+0000 (NUL)",
        field: 'payload.custom_details.a\u0000',
        rule: 'format',
      },
    ];
    for (const { name, body, error, field, rule } of cases) {
      it(name, () => {
        const result = refused(parseEventsV2(body));
        expect(result.errors).to.deep.equal([error]);
        expect(result.issues).to.have.length(1);
        expect(result.issues[0]).to.include({ field, rule });
      });
    }

    it('custom_details larger than an event may be are refused, naming the field', () => {
      const result = refused(parseEventsV2(trigger({ custom_details: { blob: 'x'.repeat(600 * 1024) } })));
      expect(result.issues.map((i) => [i.field, i.rule])).to.deep.equal([['payload.custom_details', 'maxSize']]);
      expect(result.errors[0]).to.match(/^'payload\.custom_details' is too large \(614\d+ bytes as JSON; at most 524288\)$/);
    });

    it('a body nested 100,000 deep is refused, not a stack overflow', () => {
      const result = refused(parseEventsV2(trigger({}, { extra: deep(100_000) })));
      expect(result.issues[0]).to.include({ rule: 'maxDepth' });
      expect(result.issues[0]?.field.startsWith('extra.a.a')).to.equal(true);
    });

    it('every problem is reported in one answer, not the first only', () => {
      const result = refused(parseEventsV2({ routing_key: KEY, event_action: 'trigger', payload: { severity: 'loud' }, links: [{}] }));
      expect(result.issues.map((i) => i.field)).to.deep.equal(['payload.summary', 'payload.source', 'payload.severity', 'links.0.href']);
      expect(result.errors).to.have.length(4);
    });

    it('a mistyped action is not also blamed for the payload an acknowledge does not need', () => {
      const result = refused(parseEventsV2({ routing_key: KEY, event_action: 'resolved', dedup_key: 'k' }));
      expect(result.issues.map((i) => i.field)).to.deep.equal(['event_action']);
    });

    it('more than 20 problems are counted, not listed', () => {
      const result = refused(parseEventsV2(trigger({}, { links: Array.from({ length: 30 }, () => ({ text: 1 })) })));
      expect(result.issues).to.have.length(21);
      expect(result.issues[20]).to.deep.equal({ field: '(more)', rule: 'maxErrors', message: 'and 40 more problems like these' });
      expect(result.errors[20]).to.equal('and 40 more problems like these');
    });

    it('an invalid event still says which routing key it came with, so it can be logged against it', () => {
      expect(refused(parseEventsV2(trigger({ severity: 'x' }))).routingKey).to.equal(KEY);
      expect(refused(parseEventsV2(trigger({}, { routing_key: 7 }))).routingKey).to.equal(null);
    });

    it('no input makes it throw', () => {
      const odd: unknown[] = [
        undefined,
        0,
        true,
        [],
        {},
        { routing_key: [], event_action: {}, dedup_key: [], payload: 'x', links: 'x', images: [null] },
        { routing_key: KEY, event_action: 'trigger', payload: { summary: [], source: null, severity: {}, timestamp: {}, custom_details: undefined } },
        trigger({ timestamp: '2026-13-45T99:99:99Z' }),
        trigger({ timestamp: '0000-00-00T00:00:00+99:99' }),
        Object.assign(Object.create(null) as object, trigger()),
      ];
      for (const body of odd) expect(() => parseEventsV2(body)).not.to.throw();
    });
  });
});
