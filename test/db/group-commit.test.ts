/**
 * Group commit (src/db/group-commit.ts): what arrives while the batch statements are in
 * flight shares the next one; items with the same key never share one; a failed batch
 * is committed again item by item; the submitting request's audit rows ride along and
 * its hook is marked committed only when the statement says it wrote them.
 */
import { expect } from 'chai';
import type { AuditEntry } from '../../src/db/audit-log.ts';
import { GroupCommit } from '../../src/db/group-commit.ts';
import { type CommitHook, withCommitHook } from '../../src/db/transaction.ts';
import { type TestContext, createTestContext } from '../support/context.ts';

interface Item {
  name: string;
  key: string;
}

describe('group commit', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(async () => t.close());

  /** A group whose statement takes 20 ms in Postgres, records each batch's items (and the audit rows of those it commits), and fails any batch holding "bad". */
  function group(options: { keyOf?: (item: Item) => string; wroteAudit?: (result: string) => boolean } = {}) {
    const batches: string[][] = [];
    const audited: string[][] = [];
    const commits = new GroupCommit<Item, string>(
      t.pool,
      async (db, items, audits) => {
        batches.push(items.map((item) => item.name));
        await db.query('SELECT pg_sleep(0.02)');
        if (items.some((item) => item.name === 'bad')) throw new Error('a batch with bad in it');
        audited.push(audits.map((rows) => rows.map((row) => row.requestId).join()));
        return items.map((item) => `${item.name} committed`);
      },
      { maxRunning: 2, maxItems: 4, ...options },
    );
    return { commits, batches, audited };
  }

  const item = (name: string, key = name): Item => ({ name, key });
  /** The batches, in no order: two run at once, and which one Postgres answers first is not the group's to say. */
  const unordered = (batches: string[][]) => batches.map((batch) => batch.join(' ')).sort();

  it('commits a lone item at once; what comes while two batches run waits for the next, at most maxItems in it', async () => {
    const { commits, batches } = group();
    const results = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((name) => commits.submit(item(name))));
    expect(results).to.deep.equal(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((name) => `${name} committed`));
    expect(unordered(batches)).to.deep.equal(['a', 'b', 'c d e f', 'g h']);
  });

  it('never puts two items with one key in a statement: the second waits for a later one, the others keep their order', async () => {
    const { commits, batches } = group({ keyOf: (submitted) => submitted.key });
    await Promise.all([item('x1'), item('x2'), item('a1', 'a'), item('a2', 'a'), item('b1', 'b'), item('a3', 'a')].map((i) => commits.submit(i)));
    expect(unordered(batches)).to.deep.equal(['a1 b1', 'a2', 'a3', 'x1', 'x2']);
  });

  it('commits a failed batch again item by item: only the item that fails fails', async () => {
    const { commits, batches } = group();
    const outcomes = await Promise.all(
      ['x1', 'x2', 'c', 'bad', 'd'].map((name) =>
        commits.submit(item(name)).then(
          (result) => result,
          (error: unknown) => (error as Error).message,
        ),
      ),
    );
    expect(outcomes).to.deep.equal(['x1 committed', 'x2 committed', 'c committed', 'a batch with bad in it', 'd committed']);
    expect(unordered(batches)).to.deep.equal(['bad', 'c', 'c bad d', 'd', 'x1', 'x2']);
  });

  it("passes each submitter's pending audit rows, and marks its hook committed only when the statement wrote them", async () => {
    const { commits, audited } = group({ wroteAudit: (result) => !result.startsWith('skipped') });
    const row = (requestId: string): AuditEntry => ({
      occurredAt: t.clock.now(),
      tokenId: null,
      actor: 'test',
      teamId: null,
      method: 'POST',
      route: null,
      path: '/x',
      status: 201,
      requestId,
      clientRequestId: null,
    });
    const hooks: CommitHook[] = ['r1', 'r2'].map((id) => ({ committed: false, rows: () => [row(id)] }));
    const [first, second] = hooks as [CommitHook, CommitHook];
    await Promise.all([
      withCommitHook(first, () => commits.submit(item('one'))),
      withCommitHook(second, () => commits.submit(item('skipped'))),
      commits.submit(item('no hook')),
    ]);
    expect(audited.flat()).to.include.members(['r1', 'r2', '']);
    expect(first.committed).to.equal(true);
    expect(second.committed).to.equal(false);
  });
});
