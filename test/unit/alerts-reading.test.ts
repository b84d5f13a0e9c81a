import { expect } from 'chai';
import { codePointLength, cutText, isZeroTime, jsonProblem, labelsFingerprint, parseDateTime } from '../../src/domain/alerts/reading.ts';

describe('reading alert payloads: shared helpers', () => {
  describe('label fingerprints', () => {
    it("compute Alertmanager's fingerprint (grafana/alerting's webhook test vector)", () => {
      expect(labelsFingerprint({ alertname: 'alert1', lbl1: 'val1' })).to.equal('fac0861a85de433a');
    });

    it('of no labels: the FNV-1a offset basis, as prometheus/common gives', () => {
      expect(labelsFingerprint({})).to.equal('cbf29ce484222325');
    });

    it("hash values as UTF-8 bytes (a vector from Debian's prometheus-alertmanager, read back from its /api/v2/alerts)", () => {
      expect(labelsFingerprint({ instance: 'ü:1', alertname: 'é' })).to.equal('19b5671e65176213');
    });

    it('give one fingerprint whatever order the labels came in, and keep names and values apart', () => {
      expect(labelsFingerprint({ '😀': '1', ｚ: '2' })).to.equal(labelsFingerprint({ ｚ: '2', '😀': '1' }));
      expect(labelsFingerprint({ a: 'b' })).not.to.equal(labelsFingerprint({ ab: '' }));
    });
  });

  describe('date-times', () => {
    const cases: [string, 'required' | 'utc', string | null][] = [
      ['2026-03-01T09:00:00Z', 'required', '2026-03-01T09:00:00.000Z'],
      ['2026-03-01t09:00:00z', 'required', '2026-03-01T09:00:00.000Z'],
      ['2026-03-01T09:00:00.1Z', 'required', '2026-03-01T09:00:00.100Z'],
      ['2026-03-01T09:00:00,25Z', 'required', '2026-03-01T09:00:00.250Z'],
      ['2026-03-01T23:30:00-01:00', 'required', '2026-03-02T00:30:00.000Z'],
      ['2024-02-29T00:00:00Z', 'required', '2024-02-29T00:00:00.000Z'],
      ['0001-01-01T00:00:00Z', 'required', '0001-01-01T00:00:00.000Z'],
      ['0099-06-01T00:00:00Z', 'required', '0099-06-01T00:00:00.000Z'],
      ['2026-03-01T09:00:00', 'required', null],
      ['2026-03-01T09:00:00', 'utc', '2026-03-01T09:00:00.000Z'],
      ['2025-02-29T00:00:00Z', 'required', null],
      ['2026-03-01T24:00:00Z', 'required', null],
      ['2026-03-01T09:60:00Z', 'required', null],
      ['2026-03-01T09:00:60Z', 'required', null],
      ['2026-03-01T09:00:00+24:00', 'required', null],
      ['2026-03-01T09:00:00.1234567890Z', 'required', null],
      ['2026-03-01', 'utc', null],
      ['1772355600', 'utc', null],
      [' 2026-03-01T09:00:00Z', 'required', null],
    ];
    for (const [text, offset, instant] of cases) {
      it(`${JSON.stringify(text)} (${offset}) → ${instant ?? 'not a date-time'}`, () => {
        expect(parseDateTime(text, offset)?.toISOString() ?? null).to.equal(instant);
      });
    }

    it("year 1 is Go's zero time: none", () => {
      expect(isZeroTime(parseDateTime('0001-01-01T00:00:00Z', 'required') as Date)).to.equal(true);
      expect(isZeroTime(new Date('2026-03-01T00:00:00Z'))).to.equal(false);
    });
  });

  describe('text', () => {
    it('counts code points, a lone surrogate as one', () => {
      expect(codePointLength('a😀b')).to.equal(3);
      expect(codePointLength('\ud800x')).to.equal(2);
    });

    it('cuts to at most max code points, the ellipsis counted, never half a pair', () => {
      expect(cutText('abc', 3)).to.equal('abc');
      expect(cutText('abcd', 3)).to.equal('ab…');
      expect(cutText('😀😀😀😀', 3)).to.equal('😀😀…');
      expect(cutText('😀😀', 2)).to.equal('😀😀');
    });
  });

  describe('arbitrary JSON', () => {
    it('takes what Postgres can store', () => {
      expect(jsonProblem({ a: [1, 'x', { b: null }], '': true }, '')).to.equal(null);
    });

    it('names the first field nesting past the bound', () => {
      expect(jsonProblem({ a: { b: { c: 1 } } }, 'p', 2)).to.deep.equal({
        field: 'p.a.b',
        rule: 'maxDepth',
        message: 'nests too deep (at most 2 levels of objects and arrays)',
      });
      expect(jsonProblem([[['x']]], '', 2)).to.include({ field: '0.0', rule: 'maxDepth' });
    });

    it('names a string or key holding U+0000 or a lone surrogate', () => {
      expect(jsonProblem({ a: ['ok', 'b\u0000'] }, '')).to.include({ field: 'a.1', rule: 'format' });
      expect(jsonProblem({ ['\udc00']: 1 }, 'x')).to.include({ field: 'x.\udc00', rule: 'format' });
      expect(jsonProblem('\u0000', '')).to.include({ field: '(body)', rule: 'format' });
    });
  });
});
