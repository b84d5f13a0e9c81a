/**
 * Opening an incident is one statement (issue 10, the API hot path): no BEGIN, no
 * COMMIT, one round trip to Postgres, and still one transaction: the incident, its
 * frozen policy, level 1, its events and the request's audit row commit together or
 * not at all, and they are what the steps of a transaction (open, then escalate) leave.
 * Openings that arrive together share that statement (src/db/group-commit.ts), each
 * with its own rows and its own outcome.
 */
import { expect } from 'chai';
import { openIncident } from '../../src/commands/open-incident.ts';
import type { AuditEntry } from '../../src/db/audit-log.ts';
import { MAX_RUNNING } from '../../src/db/group-commit.ts';
import { type CommitHook, withCommitHook } from '../../src/db/transaction.ts';
import { EVERY_TEAM } from '../../src/domain/team-scope.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createUser } from '../support/factories.ts';

type Json = Record<string, unknown>;

describe('opening an incident in one statement', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(async () => t.close());

  /** The statements the pool is asked to run while `work` runs (by name, or the text of an unnamed one). */
  async function statementsDuring<T>(work: () => Promise<T>): Promise<{ result: T; statements: string[]; checkouts: number }> {
    // Properties, not pg's overloaded methods: wrapped and put back as they are.
    const pool = t.pool as unknown as { query: (...args: unknown[]) => unknown; connect: (...args: unknown[]) => unknown };
    const { query, connect } = pool;
    const statements: string[] = [];
    let checkouts = 0;
    const record = (config: unknown) => {
      const recorded = config as string | { name?: string; text: string };
      statements.push(typeof recorded === 'string' ? recorded : (recorded.name ?? recorded.text));
    };
    pool.query = (...args: unknown[]) => {
      record(args[0]);
      return query.apply(pool, args);
    };
    pool.connect = async (...args: unknown[]) => {
      checkouts += 1;
      // What runs on a checked-out client is recorded too, and the client put back as it was.
      const client = (await connect.apply(pool, args)) as { query: (...a: unknown[]) => unknown; release: (...a: unknown[]) => unknown };
      const { query: clientQuery, release } = client;
      client.query = (...queryArgs: unknown[]) => {
        record(queryArgs[0]);
        return clientQuery.apply(client, queryArgs);
      };
      client.release = (...releaseArgs: unknown[]) => {
        client.query = clientQuery;
        client.release = release;
        return release.apply(client, releaseArgs);
      };
      return client;
    };
    try {
      return { result: await work(), statements, checkouts };
    } finally {
      pool.query = query;
      pool.connect = connect;
    }
  }

  async function rowsOf(incidentId: string): Promise<{ incidents: number; escalations: number; events: number }> {
    const { rows } = await t.ownerPool.query<{ incidents: number; escalations: number; events: number }>(
      `SELECT (SELECT count(*)::int FROM incidents WHERE id = $1) AS incidents,
              (SELECT count(*)::int FROM escalations WHERE incident_id = $1) AS escalations,
              (SELECT count(*)::int FROM incident_events WHERE incident_id = $1) AS events`,
      [incidentId],
    );
    return rows[0] ?? { incidents: -1, escalations: -1, events: -1 };
  }

  async function auditEntry(requestId: string, status = 201): Promise<AuditEntry> {
    const { rows } = await t.ownerPool.query<{ id: string }>('SELECT id FROM api_tokens ORDER BY created_at LIMIT 1');
    return {
      occurredAt: t.clock.now(),
      tokenId: rows[0]?.id ?? '',
      actor: 'test',
      teamId: null,
      method: 'POST',
      route: '/incidents',
      path: '/incidents',
      status,
      requestId,
      clientRequestId: null,
    };
  }

  it('opening and escalating asks the pool for one statement and no transaction', async () => {
    const { result, statements, checkouts } = await statementsDuring(() =>
      openIncident(t.deps, EVERY_TEAM, { title: 'one round trip', severity: 'critical', escalate: true, actor: 'test' }),
    );
    expect(statements).to.deep.equal(['incidents-open-batch']);
    // pg's pool.query checks a client out itself: once.
    expect(checkouts).to.equal(1);
    expect(await rowsOf(result.id)).to.deep.equal({ incidents: 1, escalations: 1, events: 2 });
  });

  it('leaves what opening, then escalating, in one transaction left: state, version, policy, level 1, events in order', async () => {
    const res = await t.api.post<Json>('/incidents', { title: 'as the steps left it', escalate: true, actor: 'alertmanager', note: 'from the alert' });
    expect(res.status).to.equal(201);
    const id = String(res.body.id);
    expect(res.body).to.deep.include({
      state: 'ESCALATING',
      version: 2,
      current_escalation_level: 0,
      created_at: '2026-03-01T09:00:00.000Z',
      updated_at: '2026-03-01T09:00:00.000Z',
      policy: { id: null, name: 'default', version: 0 },
      team_id: null,
      service_id: null,
    });
    const escalations = await t.api.get<{ items: Json[] }>(`/incidents/${id}/escalations`);
    expect(escalations.body.items).to.have.length(1);
    const level1 = escalations.body.items[0] as Json;
    expect(level1).to.include({ level: 1, repeat_cycle: 0, status: 'PENDING', scheduled_at: '2026-03-01T09:05:00.000Z' });
    const events = await t.api.get<{ items: Json[] }>(`/incidents/${id}/events`);
    expect(events.body.items.map((event) => [event.kind, event.from_state, event.to_state, event.actor, event.note, event.details])).to.deep.equal([
      ['opened', null, 'OPEN', 'alertmanager', 'from the alert', { severity: 'error', service_id: null }],
      [
        'escalation_started',
        'OPEN',
        'ESCALATING',
        'alertmanager',
        null,
        { scheduled: { escalation_id: level1.id, level: 1, due_at: '2026-03-01T09:05:00.000Z' } },
      ],
    ]);
    const { rows } = await t.ownerPool.query<{ policy_snapshot: Json; trigger: string }>(
      'SELECT i.policy_snapshot, e.trigger FROM incidents i JOIN escalations e ON e.incident_id = i.id WHERE i.id = $1',
      [id],
    );
    expect(rows[0]?.trigger).to.equal('timetable');
    expect(rows[0]?.policy_snapshot).to.deep.include({ policy_id: null, name: 'default', version: 0, repeat_count: 0 });
    expect(await t.redis.zScore(t.keys.pending, String(level1.id))).to.equal(Date.parse('2026-03-01T09:05:00.000Z'));
  });

  it('commits the audit row with the incident, or nothing at all when any part fails', async () => {
    const title = 'all or nothing';
    // An audit row the table refuses (status outside 100-599): the incident must not stay behind.
    const brokenRow = await auditEntry('broken', 1000);
    const broken: CommitHook = { committed: false, rows: () => [brokenRow] };
    const failed = await withCommitHook(broken, () => openIncident(t.deps, EVERY_TEAM, { title, severity: 'error', escalate: true })).then(
      () => 'committed',
      (error: unknown) => (error as { code?: string }).code,
    );
    expect(failed).to.equal('23514'); // check_violation
    expect(broken.committed).to.equal(false);
    const counted = await t.ownerPool.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM incidents WHERE title = $1) + (SELECT count(*) FROM audit_log WHERE request_id = 'broken') AS n`,
      [title],
    );
    expect(Number(counted.rows[0]?.n)).to.equal(0);

    const keptRow = await auditEntry('kept');
    const hook: CommitHook = { committed: false, rows: () => [keptRow] };
    const incident = await withCommitHook(hook, () => openIncident(t.deps, EVERY_TEAM, { title, severity: 'error', escalate: true }));
    expect(hook.committed).to.equal(true);
    expect(await rowsOf(incident.id)).to.deep.equal({ incidents: 1, escalations: 1, events: 2 });
    const audit = await t.ownerPool.query('SELECT method, status FROM audit_log WHERE request_id = $1', ['kept']);
    expect(audit.rows).to.deep.equal([{ method: 'POST', status: 201 }]);

    // A later commit in the same request does not write the row again.
    await withCommitHook(hook, () => openIncident(t.deps, EVERY_TEAM, { title: 'a second one', severity: 'error' }));
    expect((await t.ownerPool.query('SELECT 1 FROM audit_log WHERE request_id = $1', ['kept'])).rowCount).to.equal(1);
  });

  /** Opens `titles` at once, each in a request of its own (its own commit hook and audit row); their outcomes. */
  async function openAtOnce(titles: string[], status: (title: string) => number = () => 201) {
    const rows = await Promise.all(titles.map((title) => auditEntry(`together ${title}`, status(title))));
    const outcomes = await Promise.all(
      titles.map(async (title, i) => {
        const row = rows[i] as AuditEntry;
        const hook: CommitHook = { committed: false, rows: () => [row] };
        return withCommitHook(hook, () => openIncident(t.deps, EVERY_TEAM, { title, severity: 'warning', escalate: true, actor: title })).then(
          (incident) => ({ title, id: incident.id, error: undefined, hook }),
          (error: unknown) => ({ title, id: undefined, error: (error as { code?: string }).code, hook }),
        );
      }),
    );
    return outcomes;
  }

  it('openings that arrive together share one statement, each with its own incident, level 1, events and audit row', async () => {
    const titles = Array.from({ length: 12 }, (_, i) => `together ${i}`);
    const { result: outcomes, statements } = await statementsDuring(() => openAtOnce(titles));
    // MAX_RUNNING statements start at once with one opening each; the others, which came meanwhile, share the next.
    expect(statements.filter((statement) => statement === 'incidents-open-batch')).to.have.length(MAX_RUNNING + 1);
    for (const { title, id, error, hook } of outcomes) {
      expect(error, title).to.equal(undefined);
      expect(hook.committed, title).to.equal(true);
      expect(await rowsOf(String(id)), title).to.deep.equal({ incidents: 1, escalations: 1, events: 2 });
      const { rows } = await t.ownerPool.query<{ title: string; actors: string[]; audits: number }>(
        `SELECT i.title, array(SELECT actor FROM incident_events WHERE incident_id = i.id ORDER BY id) AS actors,
                (SELECT count(*)::int FROM audit_log WHERE request_id = $2) AS audits
         FROM incidents i WHERE i.id = $1`,
        [id, `together ${title}`],
      );
      expect(rows, title).to.deep.equal([{ title, actors: [title, title], audits: 1 }]);
    }
  });

  it('a batch that fails is committed again opening by opening: only the one that fails fails, and leaves nothing', async () => {
    const titles = Array.from({ length: 8 }, (_, i) => `retried ${i}`);
    // Its audit row is one the table refuses (status outside 100-599).
    const outcomes = await openAtOnce(titles, (title) => (title === 'retried 5' ? 1000 : 201));
    expect(outcomes.map(({ title, error }) => [title, error ?? 'committed'])).to.deep.equal(
      titles.map((title) => [title, title === 'retried 5' ? '23514' : 'committed']),
    );
    const { rows } = await t.ownerPool.query<{ incidents: number; audits: number }>(
      `SELECT (SELECT count(*)::int FROM incidents WHERE title LIKE 'retried %') AS incidents,
              (SELECT count(*)::int FROM audit_log WHERE request_id LIKE 'together retried %') AS audits`,
    );
    expect(rows[0]).to.deep.equal({ incidents: 7, audits: 7 });
    expect(outcomes.find(({ title }) => title === 'retried 5')?.hook.committed).to.equal(false);
  });

  it('with a service: its policy is frozen, and the reads before the statement take no transaction', async () => {
    const carol = await createUser(t.pool, 'Carol');
    const policy = await t.api.post<Json>('/escalation-policies', {
      name: 'payments',
      levels: [
        { delay: '2m', targets: [{ type: 'user', id: carol }] },
        { delay: '10m', targets: [{ type: 'user', id: carol }] },
      ],
    });
    expect(policy.status, JSON.stringify(policy.body)).to.equal(201);
    const service = await t.api.post<Json>('/services', { name: 'checkout', escalation_policy_id: policy.body.id });
    expect(service.status, JSON.stringify(service.body)).to.equal(201);
    const { result, statements } = await statementsDuring(() =>
      openIncident(t.deps, EVERY_TEAM, { title: 'card payments failing', severity: 'critical', serviceId: String(service.body.id), escalate: true }),
    );
    expect(statements).to.not.include('BEGIN');
    expect(statements.at(-1)).to.equal('incidents-open-batch');
    expect(result).to.deep.include({ state: 'ESCALATING', serviceId: service.body.id });
    expect(result.policy).to.deep.include({ policyId: policy.body.id, version: 1 });
    const escalations = await t.api.get<{ items: Json[] }>(`/incidents/${result.id}/escalations`);
    expect(escalations.body.items[0]).to.include({ level: 1, scheduled_at: '2026-03-01T09:02:00.000Z' });
  });
});
