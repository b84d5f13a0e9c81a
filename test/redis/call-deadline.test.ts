/**
 * Every Redis call goes through redisCall, which holds it to REDIS_COMMAND_TIMEOUT even
 * once the command is written (node-redis' own timeout stops there), and PendingIndex,
 * which owes the index the updates Redis did not take and pays them when it answers.
 */
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import winston from 'winston';
import { DeadlineError } from '../../src/clock/deadline.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { type RedisClient, closeRedis, createRedis, redisCall } from '../../src/redis/client.ts';
import { RedisHungError } from '../../src/redis/call-deadline.ts';
import { type RedisKeys, redisKeys } from '../../src/redis/keys.ts';
import { PendingIndex } from '../../src/engine/index/pending.ts';
import { track } from '../support/leaks.ts';
import { type PrivateRedis, startPrivateRedis } from '../support/redis-server.ts';
import { waitFor } from '../support/waiting.ts';

const DEADLINE_MS = 200;

function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'debug', format: 'json', service: 'test', transports: [new winston.transports.Stream({ stream: sink })] });
  return { logger, lines };
}

async function timed<T>(promise: Promise<T>): Promise<{ ms: number; error: unknown }> {
  const startedAt = performance.now();
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  return { ms: performance.now() - startedAt, error };
}

describe('Redis calls and their deadline', function () {
  this.timeout(20_000);
  let server: PrivateRedis;
  let redis: RedisClient;
  let captured: ReturnType<typeof capturingLogger>;
  let untrack: () => void;
  let keys: RedisKeys;
  before(async () => {
    server = await startPrivateRedis();
    captured = capturingLogger();
    redis = createRedis({ url: server.url, commandTimeoutMs: DEADLINE_MS, logger: captured.logger, name: 'klaxon-test-deadline' });
    await redis.connect();
    untrack = track('deadline test Redis client');
    keys = redisKeys('test:deadline:');
  });
  after(async () => {
    await closeRedis(redis);
    untrack();
    await server.stop();
  });
  const messages = (text: string) => captured.lines.filter((line) => line.message === text);

  it('with Redis hung (SIGSTOP): the first call fails at the deadline, the next ones at once; what was sent lands, in order, when it resumes', async () => {
    server.pause();
    try {
      const first = await timed(redisCall(redis, (client) => client.set('test:deadline:a', '1')));
      expect(first.error).to.be.instanceOf(DeadlineError);
      expect(first.ms).to.be.within(DEADLINE_MS - 5, DEADLINE_MS + 100);
      const next = await timed(redisCall(redis, (client) => client.multi().set('test:deadline:b', '2').incr('test:deadline:a').exec()));
      expect(next.error).to.be.instanceOf(RedisHungError);
      expect(next.ms, 'no wait').to.be.below(20);
      expect(messages('Redis did not answer within the command deadline; until it answers again, Redis calls fail at once')).to.have.length(1);
    } finally {
      server.resume();
    }
    // Until the late replies arrive, calls still fail at once; then they wait for their answers again.
    await redis.ping(); // straight on the connection: answered after what was sent before it
    expect(await redisCall(redis, (client) => client.mGet(['test:deadline:a', 'test:deadline:b']))).to.deep.equal(['2', '2']);
    await waitFor('the end of the episode', () => messages('Redis answers again').length === 1);
  });

  it('with Redis down, a MULTI fails at once instead of waiting in node-redis for a reconnection', async () => {
    await server.stop();
    try {
      const call = await timed(redisCall(redis, (client) => client.multi().set('test:deadline:c', '1').exec()));
      expect(call.error).to.be.instanceOf(Error);
      expect(call.ms).to.be.below(20);
    } finally {
      await server.start();
      if (!redis.isReady) await once(redis, 'ready');
    }
  });

  it('refuses a client that has no deadline (one not made by createRedis)', async () => {
    const other = redis.duplicate();
    const call = await timed(redisCall(other, (client) => client.ping()));
    expect(String(call.error)).to.include('not made by createRedis');
  });

  describe('the pending index after a commit', () => {
    const add = (id: string, dueMs: number) => ({ add: [{ id, dueAt: new Date(dueMs) }], remove: [] });

    it('owes what Redis did not take, and pays it when a later update goes through, or on its own with backoff', async () => {
      const index = new PendingIndex(redis, keys, captured.logger);
      await server.stop();
      expect(await index.applyAfterCommit(add('x', 1_000))).to.equal(false);
      expect(await index.applyAfterCommit({ add: [], remove: ['gone'] })).to.equal(false);
      expect(index.owedCount).to.equal(2);
      await server.start(); // empty: it lost everything
      if (!redis.isReady) await once(redis, 'ready');
      // A later update goes through, and the debt with it (without holding that answer).
      expect(await index.applyAfterCommit(add('y', 2_000))).to.equal(true);
      await waitFor('the debt paid', () => index.owedCount === 0);
      expect(await redis.zRangeWithScores(keys.pending, 0, -1)).to.deep.equal([
        { value: 'x', score: 1_000 },
        { value: 'y', score: 2_000 },
      ]);

      // No later update: the retry pays it.
      await server.stop();
      expect(await index.applyAfterCommit(add('z', 3_000))).to.equal(false);
      await server.start();
      await waitFor('the retry to pay it', async () => redis.isReady && (await redis.zScore(keys.pending, 'z')) === 3_000, { timeoutMs: 8_000 });
      expect(index.owedCount).to.equal(0);
    });

    it('past 10,000 owed ids, pays with the index marker instead: the workers rebuild from Postgres', async () => {
      const index = new PendingIndex(redis, keys, captured.logger);
      await redis.set(keys.indexMarker, 'complete');
      const many = Array.from({ length: 10_001 }, (_, i) => ({ id: `many-${i}`, dueAt: new Date(i) }));
      server.pause(); // hung, so that it keeps its data
      try {
        expect(await index.applyAfterCommit({ add: many, remove: [] })).to.equal(false);
        expect(index.owedCount).to.equal(10_000);
      } finally {
        server.resume();
      }
      await waitFor('the debt paid', async () => (await index.applyAfterCommit(add('after', 5))) && index.owedCount === 0);
      await waitFor('the marker deleted', async () => (await redis.exists(keys.indexMarker)) === 0);
      expect(await redis.zCard(keys.pending)).to.be.at.least(10_001);
    });
  });
});
