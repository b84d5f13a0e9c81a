/**
 * The index's Lua scripts move ids in commands of many members (src/redis/scripts/):
 * what they do must not depend on where their chunks end. Each case is sized across
 * a chunk boundary (1,000 arguments for claimDue and settle, 500 ids for indexPending),
 * and the sets are compared whole.
 */
import { expect } from 'chai';
import { RedisQueue } from '../../src/engine/index/queue.ts';
import { closeRedis, duplicateRedis } from '../../src/redis/client.ts';
import { scripts } from '../../src/redis/scripts.ts';
import { type TestContext, createTestContext } from '../support/context.ts';

/** Enough ids to cross two chunk boundaries of every script. */
const MANY = 1_234;
const NOW = 1_800_000_000_000;
const LEASE_MS = 30_000;

describe('the Redis index scripts, across their chunks', () => {
  let t: TestContext;
  let queue: RedisQueue;
  beforeEach(async () => {
    t = await createTestContext();
    queue = new RedisQueue(t.redis, t.keys);
  });
  afterEach(async () => {
    await t.close();
  });

  const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
  const members = async (key: string) => new Map((await t.redis.zRangeWithScores(key, 0, -1)).map(({ value, score }) => [value, score] as const));

  it('claimDue takes the expired leases first, then the earliest due ids, and moves each to inflight exactly once', async () => {
    const expired = ids('expired', 300);
    const due = ids('due', MANY);
    const later = ids('later', 50);
    await t.redis.zAdd(
      t.keys.inflight,
      expired.map((value) => ({ score: NOW - 1, value })),
    );
    await t.redis.zAdd(
      t.keys.pending,
      due.map((value, i) => ({ score: NOW - MANY + i, value })),
    );
    await t.redis.zAdd(
      t.keys.pending,
      later.map((value) => ({ score: NOW + 1_000, value })),
    );

    const limit = 1_100;
    const claim = await queue.claimDue(NOW, limit, LEASE_MS);
    const takenDue = due.slice(0, limit - expired.length);
    expect(claim.claimed).to.deep.equal([...expired.map((id) => ({ id, dueMs: 0 })), ...takenDue.map((id, i) => ({ id, dueMs: NOW - MANY + i }))]);
    const inflight = await members(t.keys.inflight);
    expect(inflight.size).to.equal(limit);
    expect(
      [...inflight.values()].every((score) => score === NOW + LEASE_MS),
      'every claim leased until now + lease',
    ).to.equal(true);
    const pending = await members(t.keys.pending);
    expect([...pending.keys()].sort()).to.deep.equal([...due.slice(takenDue.length), ...later].sort());
    expect(claim.nextDueMs).to.equal(NOW - MANY + takenDue.length);
  });

  it('settle drops every id done from inflight, adds every next level to pending, and publishes the earliest', async () => {
    const done = ids('done', MANY);
    const kept = ids('kept', 10);
    await t.redis.zAdd(
      t.keys.inflight,
      [...done, ...kept].map((value) => ({ score: NOW + LEASE_MS, value })),
    );
    const add = ids('next', MANY).map((id, i) => ({ id, dueAt: new Date(NOW + 3_600_000 - i) }));
    const subscriber = duplicateRedis(t.redis);
    await subscriber.connect();
    const published: string[] = [];
    await subscriber.subscribe(t.keys.wakeChannel, (message) => published.push(message));
    try {
      const added = await queue.script(
        scripts.settle,
        [t.keys.pending, t.keys.inflight],
        [t.keys.wakeChannel, done.length, ...done, ...add.flatMap((item) => [item.dueAt.getTime(), item.id])],
      );
      expect(added).to.equal(MANY);
      expect([...(await members(t.keys.inflight)).keys()].sort()).to.deep.equal(kept);
      expect(await members(t.keys.pending)).to.deep.equal(new Map(add.map((item) => [item.id, item.dueAt.getTime()])));
      await t.redis.ping(); // the message, published before the script returned, is on its way
      for (let wait = 0; published.length === 0 && wait < 100; wait += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(published).to.deep.equal([String(NOW + 3_600_000 - (MANY - 1))]);
    } finally {
      await closeRedis(subscriber);
    }
  });

  it('indexPending adds every id no worker holds, counts only new ones, and leaves the held ones out', async () => {
    const rows = ids('row', MANY).map((id, i) => ({ id, dueMs: NOW + i }));
    const held = new Set(rows.filter((_, i) => i % 7 === 0).map((row) => row.id));
    const known = rows.filter((row, i) => i % 11 === 1 && !held.has(row.id));
    await t.redis.zAdd(
      t.keys.inflight,
      [...held].map((value) => ({ score: NOW + LEASE_MS, value })),
    );
    // Already indexed, one of them at a stale score: corrected, not counted.
    await t.redis.zAdd(
      t.keys.pending,
      known.map((row, i) => ({ score: i === 0 ? 1 : row.dueMs, value: row.id })),
    );

    const added = await queue.script(
      scripts.indexPending,
      [t.keys.pending, t.keys.inflight],
      rows.flatMap((row) => [row.dueMs, row.id]),
    );
    const free = rows.filter((row) => !held.has(row.id));
    expect(added).to.equal(free.length - known.length);
    expect(await members(t.keys.pending)).to.deep.equal(new Map(free.map((row) => [row.id, row.dueMs])));
  });
});
