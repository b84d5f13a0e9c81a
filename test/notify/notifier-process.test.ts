/**
 * The real notifier process (`npm run notifier`): killed with SIGKILL between the
 * provider accepting an SMS and recording it, the row comes back when its lease runs
 * out and another notifier sends it again with the same Idempotency-Key: the provider
 * (the Twilio stand-in honours the key) sends nothing twice, and the row is SENT once.
 */
import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createUser } from '../support/factories.ts';
import { finished, followOutput, spawnKlaxon } from '../support/processes.ts';
import { type TwilioStandIn, startTwilioStandIn } from '../support/standins/twilio.ts';
import { waitFor } from '../support/waiting.ts';
import { workerFor } from '../support/worker.ts';
import { LINK_SECRET, MIN, addMethod, addRule, attemptsOf, openIncident, outbox, serviceWith } from './outbox-support.ts';

describe('the notifier process', () => {
  let t: TestContext;
  let twilio: TwilioStandIn;
  beforeEach(async () => {
    t = await createTestContext();
    twilio = await startTwilioStandIn();
  });
  afterEach(async () => {
    await twilio.close();
    await t.close();
  });

  const spawnNotifier = (env: Record<string, string> = {}) =>
    spawnKlaxon(t, 'src/main/notifier.ts', [], {
      LOG_LEVEL: 'warn',
      NOTIFIER_METRICS_PORT: '0',
      NOTIFIER_LEASE: '2s',
      NOTIFIER_MAX_SLEEP: '200ms',
      NOTIFY_LINK_KEYS: LINK_SECRET,
      TWILIO_BASE_URL: twilio.baseUrl,
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: '+15005550006',
      ...env,
    });

  it('killed with SIGKILL mid-send: the page is delivered once where the provider honours the idempotency key', async () => {
    const alice = await createUser(t.pool, 'Alice');
    const sms = await addMethod(t, alice, 'sms', '+4915112345678', 2);
    await addRule(t, alice, sms, 0);
    await openIncident(t, await serviceWith(t, [{ delay: '1m', users: [alice] }]));
    t.clock.advance(MIN);
    await workerFor(t).tick();

    const first = spawnNotifier({ KLAXON_FAULT: 'stall-before-record' });
    const exited = finished(first);
    await followOutput(first).line(/^stalling before record: /, 15_000);
    expect(twilio.messages).to.have.length(1);
    first.kill('SIGKILL');
    await exited;
    const [claimed] = await outbox(t);
    expect(claimed).to.deep.include({ status: 'PENDING', attempts: 1 });

    const second = spawnNotifier();
    const done = finished(second);
    try {
      await waitFor('the SMS recorded as sent', async () => (await outbox(t))[0]?.status === 'SENT', { timeoutMs: 15_000, everyMs: 100 });
    } finally {
      second.kill('SIGTERM');
    }
    expect((await done).code).to.equal(0);
    // Two requests, one message: the second attempt got the first SID back.
    expect(twilio.server.requests.filter((r) => r.path.endsWith('/Messages.json'))).to.have.length(2);
    expect(twilio.messages).to.have.length(1);
    const [row] = await outbox(t);
    expect(row).to.deep.include({ attempts: 2 });
    const attempts = await attemptsOf(t, String(row?.id));
    expect(attempts.map((a) => [a.attempt, a.outcome, a.provider_message_id])).to.deep.equal([[2, 'sent', twilio.messages[0]?.sid]]);
  });
});
