/**
 * The rate limiter on a real Redis: one bucket shared by every API process, kept in
 * one key that expires when idle, and a fallback to process memory (still limiting)
 * while Redis is down or hung, logged once each way.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import winston from 'winston';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { createRateLimiter, type RateLimiter } from '../../src/ratelimit/rate-limiter.ts';
import { type RedisClient, closeRedis, createRedis } from '../../src/redis/client.ts';
import { type RedisKeys, rateLimitKey, redisKeys } from '../../src/redis/keys.ts';
import { track } from '../support/leaks.ts';
import { type PrivateRedis, startPrivateRedis } from '../support/redis-server.ts';

// One request a minute: nothing refills during a test, so the numbers are exact
// up to the milliseconds the test itself takes.
const SLOW = { ratePerMinute: 1, burst: 3 };
const FALLBACK_WARNING = 'rate limiting falls back to per-process memory until Redis answers again';
const BACK_TO_REDIS = 'rate limiting is shared through Redis again';

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

async function connectedClient(url: string, logger: Logger, commandTimeoutMs = 500): Promise<{ redis: RedisClient; close(): Promise<void> }> {
  const redis = createRedis({ url, commandTimeoutMs, logger, name: 'klaxon-test-ratelimit' });
  await redis.connect();
  const untrack = track('rate limiter test Redis client');
  return {
    redis,
    async close() {
      await closeRedis(redis);
      untrack();
    },
  };
}

describe('rate limiter shared through Redis', () => {
  const { logger } = capturingLogger();
  let clients: { redis: RedisClient; close(): Promise<void> }[];
  let keys: RedisKeys;
  before(async () => {
    const url = process.env.REDIS_URL;
    if (!url) throw new Error('REDIS_URL is not set: run the tests with `npm test`');
    clients = [await connectedClient(url, logger), await connectedClient(url, logger)];
  });
  beforeEach(() => {
    keys = redisKeys(`test:${randomBytes(6).toString('hex')}:`);
  });
  after(async () => {
    for (const client of clients) await client.close();
  });

  const limiterOn = (index: number): RateLimiter => {
    const redis = clients[index]?.redis;
    if (!redis) throw new Error('no client');
    return createRateLimiter({ redis, keys, policy: SLOW, logger });
  };

  it('two limiters (two API processes) on one Redis take from one bucket', async () => {
    const [a, b] = [limiterOn(0), limiterOn(1)];
    const allowed = [await a.take('token:t1'), await b.take('token:t1'), await a.take('token:t1')];
    expect(allowed.map((d) => [d.allowed, d.remaining, d.limit])).to.deep.equal([
      [true, 2, 3],
      [true, 1, 3],
      [true, 0, 3],
    ]);
    const refused = [await b.take('token:t1'), await a.take('token:t1')];
    for (const decision of refused) {
      expect(decision).to.include({ allowed: false, remaining: 0, limit: 3 });
      // One request fits again one interval (60 s) after the first one, minus the time the test took.
      expect(decision.retryAfterMs).to.be.within(59_000, 60_000);
      expect(decision.resetMs).to.be.within(179_000, 180_000);
    }
    expect([a.mode, b.mode]).to.deep.equal(['redis', 'redis']);
    expect(await b.take('token:other'), 'another subject has its own bucket').to.include({ allowed: true, remaining: 2 });
  });

  it('keeps the bucket in one key that expires when the bucket would be full again', async () => {
    const limiter = limiterOn(0);
    const first = await limiter.take('integration:k1');
    const redis = clients[0]?.redis as RedisClient;
    const key = rateLimitKey(keys, 'integration:k1');
    expect(key).to.match(/^test:[0-9a-f]{12}:ratelimit:integration:k1$/);
    expect(first.resetMs).to.be.within(59_000, 60_000);
    expect(await redis.pTTL(key)).to.be.within(59_000, 60_000);
    await limiter.take('integration:k1');
    expect(await redis.pTTL(key)).to.be.within(119_000, 120_000);
    expect(await limiter.take('integration:k1')).to.include({ allowed: true, remaining: 0 });
    // A refusal writes nothing: the expiry stays where it was.
    const ttlBefore = await redis.pTTL(key);
    expect(ttlBefore).to.be.within(179_000, 180_000);
    for (let i = 0; i < 3; i += 1) expect((await limiter.take('integration:k1')).allowed).to.equal(false);
    expect(await redis.pTTL(key)).to.be.within(ttlBefore - 1_000, ttlBefore);
  });

  it('works after Redis forgot its scripts (SCRIPT FLUSH): EVALSHA falls back to EVAL', async () => {
    const limiter = limiterOn(0);
    const redis = clients[0]?.redis as RedisClient;
    await limiter.take('token:t2');
    await redis.scriptFlush();
    expect(await limiter.take('token:t2')).to.include({ allowed: true, remaining: 1 });
    expect(limiter.mode).to.equal('redis');
  });
});

describe('rate limiter while Redis is down', () => {
  let server: PrivateRedis;
  let client: { redis: RedisClient; close(): Promise<void> };
  let captured: ReturnType<typeof capturingLogger>;
  before(async () => {
    server = await startPrivateRedis();
    captured = capturingLogger();
    client = await connectedClient(server.url, captured.logger);
  });
  after(async () => {
    await client.close();
    await server.stop();
  });

  const messages = (text: string) => captured.lines.filter((line) => line.message === text);

  it('limits in process memory while Redis is stopped, logs that once, and goes back to Redis when it returns', async () => {
    const limiter = createRateLimiter({
      redis: client.redis,
      keys: redisKeys('test:down:'),
      policy: { ratePerMinute: 1, burst: 2 },
      logger: captured.logger,
      redisRecheckMs: 0,
    });
    expect(await limiter.take('token:t1')).to.include({ allowed: true, remaining: 1 });
    expect(limiter.mode).to.equal('redis');

    await server.stop();
    // Memory starts with a full bucket (each process limits on its own), and limits.
    const during = [];
    for (let i = 0; i < 4; i += 1) during.push(await limiter.take('token:t1'));
    expect(during.map((d) => d.allowed)).to.deep.equal([true, true, false, false]);
    expect(during[2]?.retryAfterMs).to.be.within(59_000, 60_000);
    expect(limiter.mode).to.equal('memory');
    expect(messages(FALLBACK_WARNING)).to.have.length(1);
    expect(messages(FALLBACK_WARNING)[0]).to.include({ level: 'warn' });

    await server.start();
    if (!client.redis.isReady) await once(client.redis, 'ready');
    // The restarted Redis kept nothing (no persistence): a fresh shared bucket.
    expect(await limiter.take('token:t1')).to.include({ allowed: true, remaining: 1 });
    expect(limiter.mode).to.equal('redis');
    expect(messages(BACK_TO_REDIS)).to.have.length(1);
    expect(messages(BACK_TO_REDIS)[0]).to.include({ level: 'info' });
    await limiter.take('token:t1');
    expect(messages(FALLBACK_WARNING)).to.have.length(1);
    expect(messages(BACK_TO_REDIS)).to.have.length(1);
  });

  it("with a hung Redis (CLIENT PAUSE), one request waits the client's command timeout (node-redis drops its own once a command is sent) and the next ones go straight to memory", async () => {
    let skewMs = 0;
    // A client of its own: the limiter waits what its client allows (REDIS_COMMAND_TIMEOUT).
    const own = await connectedClient(server.url, captured.logger, 300);
    const limiter = createRateLimiter({
      redis: own.redis,
      keys: redisKeys('test:hung:'),
      policy: { ratePerMinute: 1, burst: 2 },
      logger: captured.logger,
      now: () => Date.now() + skewMs,
    });
    const warningsBefore = messages(FALLBACK_WARNING).length;
    expect(await limiter.take('token:t1')).to.include({ allowed: true, remaining: 1 });

    const admin = await connectedClient(server.url, captured.logger);
    try {
      await admin.redis.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);
      const started = performance.now();
      expect(await limiter.take('token:t1')).to.include({ allowed: true }); // timed out: memory
      expect(performance.now() - started).to.be.within(290, 1_000);
      expect(limiter.mode).to.equal('memory');

      const fast = performance.now();
      const during = [];
      for (let i = 0; i < 20; i += 1) during.push((await limiter.take('token:t1')).allowed);
      // 20 requests each waiting for the 300 ms timeout would take 6 s.
      expect(performance.now() - fast).to.be.below(250);
      expect(during.slice(0, 2)).to.deep.equal([true, false]);
      expect(messages(FALLBACK_WARNING)).to.have.length(warningsBefore + 1);

      await admin.redis.ping(); // answered when the pause is over
      // And our connection has answered since (its missed call first: replies come in
      // order): until it does, calls on it fail at once rather than wait again.
      await own.redis.ping();
    } finally {
      await admin.close();
    }
    try {
      skewMs = 1_000; // past the recheck delay: the next request tries Redis again
      await limiter.take('token:t1');
      expect(limiter.mode).to.equal('redis');
    } finally {
      await own.close();
    }
  });
});
