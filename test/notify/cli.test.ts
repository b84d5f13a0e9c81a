/**
 * `klaxon notification list|retry` as a real process against the test file's database:
 * a person's notifications as the outbox holds them, and a FAILED one tried again as a
 * new row that a notifier then sends.
 */
import { expect } from 'chai';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createUser } from '../support/factories.ts';
import { finished, spawnKlaxon } from '../support/processes.ts';
import { workerFor } from '../support/worker.ts';
import { MIN, notifierFor, openIncident, outbox, scriptedChannel, serviceWith } from './outbox-support.ts';

const cli = (t: TestContext, args: string[]) => finished(spawnKlaxon(t, 'src/cli/main.ts', args, {}));

describe('klaxon notification', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
    t.clock.set(new Date(Date.now() - 2 * MIN)); // the CLI runs on real time
  });
  after(() => t.close());

  it("lists a person's notifications, retries a failed one as a new row, and refuses to retry one that did not fail", async function () {
    this.timeout(90_000); // four CLI processes, each starting tsx
    const alice = await createUser(t.pool, 'Alice');
    await t.pool.query(`UPDATE contact_methods SET disabled_at = now() WHERE user_id = $1 AND kind = 'in_app'`, [alice]);
    await openIncident(t, await serviceWith(t, [{ delay: '1m', users: [alice] }]));
    t.clock.advance(MIN);
    await workerFor(t).tick();
    const email = scriptedChannel('email');
    email.script({ status: 'permanent', error: '550 mailbox unavailable' });
    await notifierFor(t, { email }).drain();
    const [failed] = await outbox(t);
    expect(failed?.status).to.equal('FAILED');

    const listed = await cli(t, ['notification', 'list', '--user', alice, '--json']);
    expect(listed.code, listed.stderr).to.equal(0);
    const items = (JSON.parse(listed.stdout) as { items: Record<string, unknown>[] }).items;
    expect(items).to.have.length(1);
    expect(items[0]).to.deep.include({ id: failed?.id, channel: 'email', status: 'FAILED', reason: '550 mailbox unavailable', attempts: 1 });
    const table = await cli(t, ['notification', 'list', '--user', alice]);
    expect(table.stdout).to.include('FAILED').and.include('550 mailbox unavailable');

    const retried = await cli(t, ['notification', 'retry', String(failed?.id)]);
    expect(retried.code, retried.stderr).to.equal(0);
    const newId = retried.stdout.trim();
    const rows = await outbox(t);
    expect(rows.map((row) => [row.id, row.status])).to.deep.equal([
      [failed?.id, 'FAILED'],
      [newId, 'PENDING'],
    ]);
    expect(rows[1]?.idempotency_key).to.equal(`${failed?.idempotency_key}:retry:1`);
    t.clock.set(new Date());
    await notifierFor(t, { email }).drain();
    expect((await outbox(t, 'id = $1', [newId]))[0]?.status).to.equal('SENT');

    const refused = await cli(t, ['notification', 'retry', newId]);
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.include('SENT').and.include('only a FAILED one');
  });
});
