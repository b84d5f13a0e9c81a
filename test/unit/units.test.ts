import { expect } from 'chai';
import { parseSize } from '../../src/config/units.ts';
import { DURATION_BOUNDS, durationWithin, formatDuration, parseDuration } from '../../src/domain/durations.ts';

describe('durations and sizes', () => {
  const durations: [string, number][] = [
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1.5s', 1_500],
    [' 15M ', 900_000],
  ];
  for (const [text, ms] of durations) {
    it(`reads the duration "${text}" as ${ms} ms`, () => expect(parseDuration(text)).to.equal(ms));
  }

  for (const bad of ['5', '', 'm', '5 minutes', '-5m', '5x', '1e3s', '5m30s']) {
    it(`refuses "${bad}" as a duration, saying what a duration looks like`, () => {
      expect(() => parseDuration(bad)).to.throw(RangeError, /is not a duration \(e\.g\. 250ms, 30s, 5m/);
    });
  }

  it('reads sizes in b, kb and mb', () => {
    expect(parseSize('512b')).to.equal(512);
    expect(parseSize('64kb')).to.equal(65_536);
    expect(parseSize('1mb')).to.equal(1_048_576);
    expect(() => parseSize('64')).to.throw(/is not a size/);
  });

  it('formats durations in the largest exact unit', () => {
    expect([300_000, 3_600_000, 1_500, 250].map(formatDuration)).to.deep.equal(['5m', '1h', '1500ms', '250ms']);
  });

  it('checks a duration against its bounds, saying which rule it broke', () => {
    expect(durationWithin('5m', DURATION_BOUNDS.policyLevelDelay)).to.deep.equal({ ok: true, ms: 300_000 });
    expect(durationWithin('500ms', DURATION_BOUNDS.policyLevelDelay)).to.deep.equal({
      ok: false,
      reason: 'range',
      message: 'must be 0s (at once) or between 1s and 7d',
    });
    // 0 is "at once" where the bounds say so, and below the minimum elsewhere.
    expect(durationWithin('0s', DURATION_BOUNDS.policyLevelDelay)).to.deep.equal({ ok: true, ms: 0 });
    expect(durationWithin('0s', DURATION_BOUNDS.snooze)).to.deep.include({ ok: false, reason: 'range' });
    expect(durationWithin('25h', DURATION_BOUNDS.snooze)).to.deep.include({ ok: false, reason: 'range', message: 'must be between 1m and 24h' });
    expect(durationWithin('99999999999999999999h', DURATION_BOUNDS.snooze)).to.deep.include({ ok: false, reason: 'range' });
    expect(durationWithin('soon', DURATION_BOUNDS.snooze)).to.deep.include({ ok: false, reason: 'format' });
    expect(DURATION_BOUNDS.configuredLevelDelay.text).to.equal('between 100ms and 7d');
  });
});
