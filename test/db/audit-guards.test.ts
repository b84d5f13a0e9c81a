/**
 * The database itself refuses to rewrite the audit trail, whoever connects: these
 * statements run as plain SQL, bypassing the application, as the schema's owner
 * (which holds every privilege, so only the triggers stand in the way). That the
 * application's role is not even allowed to try is test/db/application-role.test.ts.
 */
import { expect } from 'chai';
import { createToken } from '../../src/commands/tokens.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { incidentIn } from '../support/fixtures.ts';

describe('the database guards the audit trail', () => {
  let t: TestContext;
  let escalatingId: string;
  let resolvedId: string;
  let cancelledId: string;
  before(async () => {
    t = await createTestContext();
    escalatingId = await incidentIn(t.api, 'ESCALATING');
    resolvedId = await incidentIn(t.api, 'RESOLVED');
    cancelledId = await incidentIn(t.api, 'CANCELLED');
  });
  after(() => t.close());

  async function sqlError(text: string, values: unknown[] = []): Promise<{ code: string; message: string }> {
    try {
      await t.ownerPool.query(text, values);
    } catch (error) {
      return error as { code: string; message: string };
    }
    throw new Error(`expected the database to refuse: ${text}`);
  }

  const pendingId = async (incidentId: string) =>
    (await t.pool.query<{ id: string }>(`SELECT id FROM escalations WHERE incident_id = $1 AND status = 'PENDING'`, [incidentId])).rows[0]?.id;

  it('refuses DELETE of an escalation', async () => {
    const error = await sqlError(`DELETE FROM escalations WHERE incident_id = $1`, [escalatingId]);
    expect(error.code).to.equal('23001');
    expect(error.message).to.equal('DELETE on escalations is refused: the audit trail is append-only');
  });

  it('refuses TRUNCATE of escalations, incident_events and incidents', async () => {
    for (const table of ['escalations', 'incident_events', 'incidents']) {
      const error = await sqlError(`TRUNCATE ${table} CASCADE`);
      expect(error.code, table).to.equal('23001');
    }
    expect((await t.pool.query(`SELECT 1 FROM escalations`)).rowCount).to.be.greaterThan(0);
  });

  it('refuses UPDATE and DELETE of events', async () => {
    expect((await sqlError(`UPDATE incident_events SET actor = 'mallory'`)).code).to.equal('23001');
    expect((await sqlError(`DELETE FROM incident_events`)).code).to.equal('23001');
  });

  it('refuses an escalation status change other than PENDING -> EXECUTED or PENDING -> CANCELLED', async () => {
    const [cancelled] = (await t.pool.query<{ id: string }>(`SELECT id FROM escalations WHERE incident_id = $1`, [cancelledId])).rows;
    const back = await sqlError(`UPDATE escalations SET status = 'PENDING', cancelled_at = NULL WHERE id = $1`, [cancelled?.id]);
    expect(back.code).to.equal('23514');
    expect(back.message).to.match(/status may only move PENDING -> EXECUTED or PENDING -> CANCELLED, not CANCELLED -> PENDING/);
    const sideways = await sqlError(`UPDATE escalations SET status = 'EXECUTED', executed_at = now(), cancelled_at = NULL WHERE id = $1`, [cancelled?.id]);
    expect(sideways.message).to.match(/not CANCELLED -> EXECUTED/);
    const stay = await sqlError(`UPDATE escalations SET updated_at = now() WHERE id = $1`, [await pendingId(escalatingId)]);
    expect(stay.message).to.match(/not PENDING -> PENDING/);
  });

  it('refuses rewriting what an escalation scheduled, column by column, before judging its status', async () => {
    const id = await pendingId(escalatingId);
    const rewrites = [
      `id = gen_random_uuid()`,
      `incident_id = '${resolvedId}'`,
      `escalation_level = escalation_level + 1`,
      `repeat_cycle = repeat_cycle + 1`,
      `scheduled_at = scheduled_at + interval '1 hour'`,
      `trigger = CASE WHEN trigger = 'manual' THEN 'timer' ELSE 'manual' END`,
      `created_at = created_at - interval '1 second'`,
    ];
    for (const rewrite of rewrites) {
      // A legal status move alongside, so the status guard alone would let it through.
      const error = await sqlError(`UPDATE escalations SET ${rewrite}, status = 'CANCELLED', cancelled_at = now() WHERE id = $1`, [id]);
      expect(error.code, rewrite).to.equal('23001');
      expect(error.message, rewrite).to.equal(`escalation ${id}: what was scheduled cannot be rewritten`);
    }
  });

  it('refuses changing what a token is or may do, column by column', async () => {
    const token = await createToken(t.deps, { name: 'fixed', scopes: ['read'], teamId: null, expiresAt: null }, { via: 'test' });
    const id = token.record.id;
    const rewrites = [
      `id = gen_random_uuid()`,
      `public_id = public_id || 'x'`,
      `secret_hash = 'x'`,
      `name = 'renamed'`,
      `scopes = '{admin}'`,
      `team_id = gen_random_uuid()`,
      `expires_at = created_at + interval '1 day'`,
      `created_by = id`,
      `created_via = 'sql'`,
      `created_at = created_at - interval '1 second'`,
    ];
    for (const rewrite of rewrites) {
      const error = await sqlError(`UPDATE api_tokens SET ${rewrite} WHERE id = $1`, [id]);
      expect(error.code, rewrite).to.equal('23001');
      expect(error.message, rewrite).to.equal(`api token ${id}: only last_used_at and a first revocation may change`);
    }
    await t.ownerPool.query(`UPDATE api_tokens SET last_used_at = now() WHERE id = $1`, [id]);
  });

  it('define_fixed_columns, which writes those guards, refuses a name that is not a column', async () => {
    const error = await sqlError(`SELECT define_fixed_columns('escalations', 'x %s', ARRAY['id', 'sceduled_at'])`);
    expect(error.message).to.equal('define_fixed_columns: escalations has no column sceduled_at');
  });

  it('refuses marking an escalation EXECUTED without an execution time', async () => {
    const error = await sqlError(`UPDATE escalations SET status = 'EXECUTED' WHERE id = $1`, [await pendingId(escalatingId)]);
    expect(error.code).to.equal('23514'); // escalations_status_times
  });

  it('refuses any change to a RESOLVED or CANCELLED incident', async () => {
    for (const [id, state] of [
      [resolvedId, 'RESOLVED'],
      [cancelledId, 'CANCELLED'],
    ] as const) {
      const error = await sqlError(`UPDATE incidents SET state = 'ESCALATING' WHERE id = $1`, [id]);
      expect(error.code).to.equal('23514');
      expect(error.message).to.equal(`incident ${id} is ${state} and can no longer change`);
    }
  });

  it("refuses changing an incident's id, team or creation time", async () => {
    const { rows } = await t.ownerPool.query<{ id: string }>(`INSERT INTO teams (name) VALUES ('elsewhere') RETURNING id`);
    const changes: [string, unknown[]][] = [
      [`UPDATE incidents SET team_id = $2 WHERE id = $1`, [escalatingId, rows[0]?.id]],
      [`UPDATE incidents SET created_at = created_at - interval '1 day' WHERE id = $1`, [escalatingId]],
      [`UPDATE incidents SET id = gen_random_uuid() WHERE id = $1`, [escalatingId]],
    ];
    for (const [text, values] of changes) {
      const error = await sqlError(text, values);
      expect(error.code, text).to.equal('23001');
      expect(error.message).to.equal(`incident ${escalatingId}: its id, team, creation time and alert key cannot be rewritten`);
    }
    // Values, not columns: writing them back unchanged is no change.
    await t.ownerPool.query(`UPDATE incidents SET id = id, team_id = team_id, created_at = created_at WHERE id = $1`, [escalatingId]);
  });

  it('refuses a revocation dated in the future or before the token was created, and a second one', async () => {
    const token = await createToken(t.deps, { name: 'to revoke', scopes: ['read'], teamId: null, expiresAt: null }, { via: 'test' });
    const id = token.record.id;
    const future = await sqlError(`UPDATE api_tokens SET revoked_at = clock_timestamp() + interval '1 minute' WHERE id = $1`, [id]);
    expect(future.code).to.equal('23514');
    expect(future.message).to.match(new RegExp(`^api token ${id}: a revocation cannot be dated in the future`));
    const early = await sqlError(`UPDATE api_tokens SET revoked_at = created_at - interval '1 second' WHERE id = $1`, [id]);
    expect(early.code).to.equal('23514');
    expect(early.message).to.match(new RegExp(`^api token ${id}: a revocation cannot be dated before the token was created`));
    // The application's clock may run a little ahead of the database's.
    await t.ownerPool.query(`UPDATE api_tokens SET revoked_at = clock_timestamp() + interval '100 milliseconds' WHERE id = $1`, [id]);
    const again = await sqlError(`UPDATE api_tokens SET revoked_at = created_at WHERE id = $1`, [id]);
    expect(again.code).to.equal('23001');
    expect(again.message).to.equal(`api token ${id}: only last_used_at and a first revocation may change`);
  });

  it('refuses DELETE of an incident', async () => {
    expect((await sqlError(`DELETE FROM incidents WHERE id = $1`, [resolvedId])).code).to.equal('23001');
  });

  it('refuses a second row for the same incident, cycle and level', async () => {
    const error = await sqlError(`INSERT INTO escalations (incident_id, escalation_level, repeat_cycle, scheduled_at) VALUES ($1, 1, 0, now())`, [
      escalatingId,
    ]);
    expect(error.code).to.equal('23505');
  });

  it('refuses states, severities and statuses outside their sets', async () => {
    expect((await sqlError(`UPDATE incidents SET state = 'SNOOZED' WHERE id = $1`, [escalatingId])).code).to.equal('23514');
    expect((await sqlError(`INSERT INTO incidents (title, severity) VALUES ('x', 'sev1')`)).code).to.equal('23514');
  });

  it('still allows the legal moves: PENDING -> CANCELLED', async () => {
    const id = await pendingId(escalatingId);
    await t.pool.query(`UPDATE escalations SET status = 'CANCELLED', cancelled_at = now(), updated_at = now() WHERE id = $1`, [id]);
    const { rows } = await t.pool.query(`SELECT status FROM escalations WHERE id = $1`, [id]);
    expect(rows[0]).to.deep.equal({ status: 'CANCELLED' });
  });
});
