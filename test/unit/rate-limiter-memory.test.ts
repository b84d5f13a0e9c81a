/**
 * GCRA in process memory (the fallback while Redis is down), with a clock the test
 * moves by hand. The policy is 60 per minute (one request per second) with a burst of 3.
 */
import { expect } from 'chai';
import { createMemoryRateLimiter, gcra } from '../../src/ratelimit/rate-limiter.ts';

const POLICY = { ratePerMinute: 60, burst: 3 };
const START = Date.parse('2026-03-01T09:00:00.000Z');

function limiterAt(start = START, maxSubjects?: number) {
  let nowMs = start;
  const limiter = createMemoryRateLimiter({ policy: POLICY, now: () => nowMs, maxSubjects });
  return {
    limiter,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

describe('in-memory rate limiter (GCRA)', () => {
  it('allows a full burst at once, counting remaining down to 0, then refuses with the exact retry-after', async () => {
    const { limiter } = limiterAt();
    const decisions = [];
    for (let i = 0; i < 4; i += 1) decisions.push(await limiter.take('token:a'));
    expect(decisions.slice(0, 3)).to.deep.equal([
      { allowed: true, limit: 3, remaining: 2, retryAfterMs: 0, resetMs: 1_000 },
      { allowed: true, limit: 3, remaining: 1, retryAfterMs: 0, resetMs: 2_000 },
      { allowed: true, limit: 3, remaining: 0, retryAfterMs: 0, resetMs: 3_000 },
    ]);
    expect(decisions[3]).to.deep.equal({ allowed: false, limit: 3, remaining: 0, retryAfterMs: 1_000, resetMs: 3_000 });
    expect(limiter.mode).to.equal('memory');
  });

  it('counts the retry-after down as time passes, and a refusal does not use up the allowance', async () => {
    const { limiter, advance } = limiterAt();
    for (let i = 0; i < 3; i += 1) await limiter.take('token:a');
    advance(400);
    expect(await limiter.take('token:a')).to.include({ allowed: false, retryAfterMs: 600, resetMs: 2_600 });
    expect(await limiter.take('token:a')).to.include({ allowed: false, retryAfterMs: 600 });
    advance(600);
    expect(await limiter.take('token:a')).to.include({ allowed: true, remaining: 0 });
    expect(await limiter.take('token:a')).to.include({ allowed: false, retryAfterMs: 1_000 });
  });

  it('refills one request per interval up to the burst, never beyond it', async () => {
    const { limiter, advance } = limiterAt();
    for (let i = 0; i < 3; i += 1) await limiter.take('token:a');
    advance(2_000);
    expect(await limiter.take('token:a')).to.include({ allowed: true, remaining: 1 });
    advance(60_000); // a long quiet spell fills the bucket to 3, not to 60
    const after = [];
    for (let i = 0; i < 4; i += 1) after.push((await limiter.take('token:a')).allowed);
    expect(after).to.deep.equal([true, true, true, false]);
  });

  it('keeps one bucket per subject', async () => {
    const { limiter } = limiterAt();
    for (let i = 0; i < 3; i += 1) await limiter.take('token:a');
    expect((await limiter.take('token:a')).allowed).to.equal(false);
    expect(await limiter.take('integration:b')).to.include({ allowed: true, remaining: 2 });
  });

  it('never remembers more than maxSubjects, forgetting the least recently seen first', async () => {
    const { limiter } = limiterAt(START, 100);
    for (let i = 0; i < 3; i += 1) await limiter.take('token:hot');
    for (let i = 0; i < 99; i += 1) await limiter.take(`token:flood-${i}`);
    expect(limiter.size).to.equal(100);
    expect((await limiter.take('token:hot')).allowed, 'seen recently: still limited').to.equal(false);

    for (let i = 0; i < 10_000; i += 1) await limiter.take(`token:flood-more-${i}`);
    expect(limiter.size).to.equal(100);
    // The price of the bound: a subject pushed out gets a fresh bucket.
    expect(await limiter.take('token:hot')).to.include({ allowed: true, remaining: 2 });
  });

  it('drops subjects whose bucket is full again, so a past flood does not keep its memory', async () => {
    const { limiter, advance } = limiterAt(START, 1_000);
    for (let i = 0; i < 500; i += 1) await limiter.take(`token:${i}`);
    expect(limiter.size).to.equal(500);
    advance(1_000); // each took one request: one interval later every bucket is full
    await limiter.take('token:new');
    expect(limiter.size).to.equal(1);
  });

  it('handles intervals that are not whole milliseconds (7 per minute) without losing a request to rounding', () => {
    const policy = { ratePerMinute: 7, burst: 120 };
    let tat: number | undefined;
    const remaining: number[] = [];
    for (let i = 0; i < 121; i += 1) {
      const step = gcra(tat, START, policy);
      tat = step.tat;
      remaining.push(step.decision.allowed ? step.decision.remaining : -1);
    }
    expect(remaining.slice(0, 3)).to.deep.equal([119, 118, 117]);
    expect(remaining.slice(118)).to.deep.equal([1, 0, -1]);
    expect(gcra(tat, START, policy).decision.retryAfterMs).to.equal(Math.ceil(60_000 / 7));
  });

  it('refuses a policy that is not whole numbers above 0', () => {
    expect(() => createMemoryRateLimiter({ policy: { ratePerMinute: 0, burst: 3 } })).to.throw(RangeError, /ratePerMinute/);
    expect(() => createMemoryRateLimiter({ policy: { ratePerMinute: 60, burst: 1.5 } })).to.throw(RangeError, /burst/);
  });
});
