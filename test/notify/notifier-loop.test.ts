/**
 * The notifier's loop: woken by NOTIFY (no poll in the fast path) when a level commits
 * its rows, and a stop that lets the send in flight finish and be recorded.
 */
import { Writable } from 'node:stream';
import { expect } from 'chai';
import winston from 'winston';
import { createClient, createPool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { DeliveryOutcome } from '../../src/notify/channels/channel.ts';
import { type TestContext, APP_ROLE, createTestContext } from '../support/context.ts';
import { createUser } from '../support/factories.ts';
import { waitFor } from '../support/waiting.ts';
import { workerFor } from '../support/worker.ts';
import { MIN, notifierFor, openIncident, outbox, scriptedChannel, serviceWith } from './outbox-support.ts';

describe('the notifier loop', () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await createTestContext();
  });
  afterEach(() => t.close());

  it('sleeps with nothing due and is woken by the NOTIFY of the transaction that executed a level', async () => {
    const alice = await createUser(t.pool, 'Alice');
    await t.pool.query(`UPDATE contact_methods SET disabled_at = now() WHERE user_id = $1 AND kind = 'email'`, [alice]);
    const inApp = scriptedChannel('in_app');
    let live = false;
    const notifier = notifierFor(
      t,
      { in_app: inApp },
      {
        // A minute's sleep: only the NOTIFY can wake it within the test.
        options: { maxSleepMs: 60_000 },
        listenClient: () => {
          const client = createClient({ databaseUrl: t.databaseUrl, applicationName: 'klaxon-test-notifier', role: APP_ROLE });
          client.once('connect', () => setTimeout(() => (live = true), 50));
          return client;
        },
      },
    );
    notifier.start();
    try {
      await openIncident(t, await serviceWith(t, [{ delay: '1m', users: [alice] }]));
      await waitFor('the listener', () => live);
      await new Promise((resolve) => setTimeout(resolve, 100)); // its first pass has run and it sleeps
      t.clock.advance(MIN);
      await workerFor(t).tick();
      await waitFor('the in-app notification sent', () => inApp.sent.length === 1, { timeoutMs: 3_000 });
    } finally {
      await notifier.stop();
    }
    expect((await outbox(t)).map((row) => row.status)).to.deep.equal(['SENT']);
  });

  it('pipelines: a row falling due while a send hangs is claimed and sent at once, not after the hung send', async () => {
    const [alice, bob] = [await createUser(t.pool, 'Alice'), await createUser(t.pool, 'Bob')];
    await t.pool.query(`UPDATE contact_methods SET disabled_at = now() WHERE user_id = ANY($1) AND kind = 'email'`, [[alice, bob]]);
    let finish!: (outcome: DeliveryOutcome) => void;
    const sent: string[] = [];
    const notifier = notifierFor(
      t,
      {
        in_app: {
          kind: 'in_app',
          send: (delivery) => {
            // The first send (Alice's) hangs until the test lets it finish; the others are sent.
            if (sent.push(delivery.destination) > 1) return Promise.resolve({ status: 'sent', providerMessageId: null });
            return new Promise<DeliveryOutcome>((resolve) => {
              finish = resolve;
            });
          },
        },
      },
      { options: { leaseMs: 10 * MIN } },
    ); // Alice's claim outlives the test clock's minute
    await openIncident(t, await serviceWith(t, [{ delay: '1m', users: [alice] }]));
    await openIncident(t, await serviceWith(t, [{ delay: '2m', users: [bob] }]));
    t.clock.advance(MIN);
    await workerFor(t).tick();
    notifier.start();
    try {
      await waitFor("Alice's send started", () => sent.length === 1);
      t.clock.advance(MIN);
      await workerFor(t).tick();
      // The loop polls every maxSleepMs (1 s here): Bob's row is claimed on the next look.
      await waitFor("Bob's notification sent while Alice's hangs", () => sent.length >= 2, { timeoutMs: 3_000 });
      expect(sent).to.have.length(2);
      await waitFor(
        "Bob's recorded SENT, Alice's still PENDING",
        async () =>
          (await outbox(t))
            .map((row) => row.status)
            .sort()
            .join() === 'PENDING,SENT',
      );
    } finally {
      if (sent.length > 0) finish({ status: 'sent', providerMessageId: null });
      await notifier.stop();
    }
    expect((await outbox(t)).map((row) => row.status)).to.deep.equal(['SENT', 'SENT']);
  });

  it('stop: no new claims; the send in flight finishes and is recorded', async () => {
    const alice = await createUser(t.pool, 'Alice');
    await t.pool.query(`UPDATE contact_methods SET disabled_at = now() WHERE user_id = $1 AND kind = 'email'`, [alice]);
    let finish!: (outcome: DeliveryOutcome) => void;
    let started = false;
    const notifier = notifierFor(t, {
      in_app: {
        kind: 'in_app',
        send: () => {
          started = true;
          return new Promise<DeliveryOutcome>((resolve) => {
            finish = resolve;
          });
        },
      },
    });
    await openIncident(t, await serviceWith(t, [{ delay: '1m', users: [alice] }]));
    t.clock.advance(MIN);
    await workerFor(t).tick();
    notifier.start();
    await waitFor('the send started', () => started);
    const stopping = notifier.stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).to.equal(false);
    finish({ status: 'sent', providerMessageId: null });
    await stopping;
    expect((await outbox(t)).map((row) => row.status)).to.deep.equal(['SENT']);
  });

  it('with Postgres unreachable, logs one line when its passes start failing and one when it stops, not one per retry', async () => {
    const lines: { level: string; message: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as { level: string; message: string });
        done();
      },
    });
    const logger = createLogger({ level: 'debug', format: 'json', service: 'test', transports: [new winston.transports.Stream({ stream: sink })] });
    // A real connection refused: nothing listens on port 1.
    const unreachable = createPool({ databaseUrl: 'postgres://postgres@127.0.0.1:1/klaxon', applicationName: 'klaxon-test-unreachable', max: 2, logger });
    const notifier = notifierFor(t, {}, { pool: unreachable, logger });
    notifier.start();
    try {
      // Backoff from 200 ms: about four failed passes in 3 s.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    } finally {
      await notifier.stop();
      await unreachable.end();
    }
    // However many passes failed (about four), three lines: the start, the interval's count (closed at stop), the end.
    const notifierLines = lines.filter((line) => line.message.startsWith('notifier pass'));
    expect(notifierLines.map((line) => line.message)).to.deep.equal([
      'notifier pass failed; retrying with backoff until one succeeds',
      'notifier passes still failing',
      'notifier pass failures over (a pass succeeded, or the notifier stopped)',
    ]);
    expect((notifierLines[1] as unknown as { count: number }).count).to.be.at.least(2);
  });
});
