/**
 * "The application's database role may only insert into the audit tables": the API
 * and the workers act as klaxon_app (migrations/1763900000600_application-role.sql),
 * whose privileges are exactly the table below. Every other test runs the app as
 * that role too (test/support/context.ts), so the whole suite proves the grants are
 * enough; this file proves they are no more than that.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { expect } from 'chai';
import type pg from 'pg';
import { createPool } from '../../src/db/pool.ts';
import type { Queryable } from '../../src/db/queries.ts';
import { createToken } from '../../src/commands/tokens.ts';
import { APP_ROLE, type TestContext, createTestContext } from '../support/context.ts';
import { refusalCode } from '../support/databases.ts';
import { incidentIn } from '../support/fixtures.ts';

const CONFIGURATION = 'SELECT, INSERT, UPDATE, DELETE';

/**
 * Every relation of the public schema and what the application may do with it. A
 * migration that adds a table fails this test until its grants are decided (in the
 * migration) and written here.
 */
const EXPECTED_PRIVILEGES: Record<string, string> = {
  // The audit tables: appended to and read.
  incident_events: 'SELECT, INSERT',
  audit_log: 'SELECT, INSERT',
  // The escalation audit trail: inserted PENDING, then settled; what was scheduled is fixed.
  escalations: 'SELECT, INSERT, UPDATE(cancelled_at, executed_at, status, updated_at)',
  // Failed executions counted, quarantined and released in place; which escalation a line is about is fixed.
  escalation_failures: 'SELECT, INSERT, UPDATE(attempts, last_error, last_failed_at, quarantined_at, released_at, retry_at)',
  // How people are reached: edited and disabled, never deleted (notifications refer to them); rules come and go.
  contact_methods: 'SELECT, INSERT, UPDATE',
  notification_rules: 'SELECT, INSERT, UPDATE, DELETE',
  // The outbox: written by the engine, claimed and settled by the notifiers; what a row is about is fixed.
  notifications:
    'SELECT, INSERT, UPDATE(attempts, claim, delivered_at, digest_id, finished_at, lease_until, next_attempt_at, ' +
    'provider_message_id, read_at, reason, reply_code, sent_at, status)',
  // Every attempt and every delivery receipt: appended to and read.
  notification_attempts: 'SELECT, INSERT',
  notification_receipts: 'SELECT, INSERT',
  // Revoked and used, never edited or deleted.
  api_tokens: 'SELECT, INSERT, UPDATE(last_used_at, revoked_at)',
  // Moved through their states, never deleted; what was reported, by whom and when is fixed.
  incidents:
    'SELECT, INSERT, UPDATE(acknowledged_at, alert_count, alert_last_seen_at, assignees, cancelled_at, current_escalation_level, ' +
    'cycle_base, policy_id, policy_snapshot, policy_version, resolved_at, snoozed_until, state, updated_at, version)',
  // Alert intake: keys created and revoked, never edited or deleted; the alert log appended to and read.
  integration_keys: 'SELECT, INSERT, UPDATE(revoked_at, revoked_by)',
  alert_log: 'SELECT, INSERT',
  // The storm check's per-minute count, one row per service, upserted.
  alert_storm_windows: 'SELECT, INSERT, UPDATE',
  users: CONFIGURATION,
  teams: CONFIGURATION,
  team_members: CONFIGURATION,
  schedules: CONFIGURATION,
  schedule_members: CONFIGURATION,
  schedule_overrides: CONFIGURATION,
  escalation_policies: CONFIGURATION,
  escalation_policy_levels: CONFIGURATION,
  escalation_policy_targets: CONFIGURATION,
  services: CONFIGURATION,
  // The migrations' own bookkeeping, and the identity sequences (an identity default
  // needs no privilege on its sequence).
  pgmigrations: '',
  pgmigrations_id_seq: '',
  incident_events_id_seq: '',
  audit_log_id_seq: '',
  notification_attempts_id_seq: '',
  notification_receipts_id_seq: '',
  alert_log_id_seq: '',
};

const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];
const SEQUENCE_PRIVILEGES = ['USAGE', 'SELECT', 'UPDATE'];

/**
 * What a role may do with each relation of the public schema, as in
 * EXPECTED_PRIVILEGES: the table's privileges in TABLE_PRIVILEGES order, a privilege
 * held on some columns only as `UPDATE(a, b)`. Effective privileges (has_*_privilege),
 * so grants to PUBLIC or through another role count too.
 */
async function privilegesOf(db: Queryable, role: string): Promise<Record<string, string>> {
  const { rows } = await db.query<{ relname: string; privilege: string; columns: string[] | null }>(
    `SELECT c.relname, p.privilege, NULL::text[] AS columns
     FROM pg_class c
     CROSS JOIN unnest($2::text[]) WITH ORDINALITY AS p (privilege, n)
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND has_table_privilege($1, c.oid, p.privilege)
     UNION ALL
     SELECT c.relname, p.privilege, array_agg(a.attname::text ORDER BY a.attname)
     FROM pg_class c
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     CROSS JOIN unnest($2::text[]) AS p (privilege)
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND p.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
       AND NOT has_table_privilege($1, c.oid, p.privilege)
       AND has_column_privilege($1, c.oid, a.attnum, p.privilege)
     GROUP BY c.relname, p.privilege
     UNION ALL
     SELECT c.relname, p.privilege, NULL
     FROM pg_class c
     CROSS JOIN unnest($3::text[]) AS p (privilege)
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S'
       AND has_sequence_privilege($1, c.oid, p.privilege)
     UNION ALL
     SELECT c.relname, '', NULL
     FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')`,
    [role, TABLE_PRIVILEGES, SEQUENCE_PRIVILEGES],
  );
  const order = [...TABLE_PRIVILEGES, ...SEQUENCE_PRIVILEGES];
  const held = new Map<string, { privilege: string; text: string }[]>();
  for (const { relname, privilege, columns } of rows) {
    const list = held.get(relname) ?? [];
    held.set(relname, list);
    if (privilege) list.push({ privilege, text: columns ? `${privilege}(${columns.join(', ')})` : privilege });
  }
  return Object.fromEntries(
    [...held].map(([relname, list]) => [
      relname,
      list
        .sort((a, b) => order.indexOf(a.privilege) - order.indexOf(b.privilege))
        .map((entry) => entry.text)
        .join(', '),
    ]),
  );
}

function sqlErrorCode(db: Queryable, text: string, values: unknown[] = []): Promise<string> {
  return refusalCode(db.query(text, values), text);
}

describe(`the application acts as ${APP_ROLE}, which may only append to the audit tables`, () => {
  let t: TestContext;
  let incidentId: string;
  let escalationId: string;
  before(async () => {
    t = await createTestContext();
    incidentId = await incidentIn(t.api, 'ESCALATING');
    const { rows } = await t.pool.query<{ id: string }>(`SELECT id FROM escalations WHERE incident_id = $1`, [incidentId]);
    escalationId = rows[0]?.id ?? '';
  });
  after(() => t.close());

  describe('the role', () => {
    it(`every connection of the application's pool acts as ${APP_ROLE}, and RESET ROLE or DISCARD ALL keep it`, async () => {
      const client = await t.pool.connect();
      try {
        const who = async () => (await client.query<{ current_user: string }>('SELECT current_user')).rows[0]?.current_user;
        expect(await who()).to.equal(APP_ROLE);
        await client.query('RESET ROLE');
        expect(await who()).to.equal(APP_ROLE);
        await client.query('DISCARD ALL');
        expect(await who()).to.equal(APP_ROLE);
      } finally {
        client.release();
      }
    });

    it('a role that cannot be taken fails the connection instead of running as the login', async () => {
      const pool = createPool({ databaseUrl: t.databaseUrl, applicationName: 'klaxon-test', role: 'klaxon_no_such_role', logger: t.deps.logger });
      try {
        const error = (await pool.query('SELECT 1').catch((e: unknown) => e)) as { message?: string };
        expect(error.message).to.equal('role "klaxon_no_such_role" does not exist');
      } finally {
        await pool.end();
      }
    });

    it('the role is added to the startup options of the URL, which are kept', async () => {
      const url = new URL(t.databaseUrl);
      url.searchParams.set('options', '-c search_path=pg_catalog,public');
      const pool = createPool({ databaseUrl: url.toString(), applicationName: 'klaxon-test', role: APP_ROLE, logger: t.deps.logger });
      try {
        const { rows } = await pool.query('SELECT current_user, current_setting($1) AS search_path', ['search_path']);
        expect(rows[0]).to.deep.equal({ current_user: APP_ROLE, search_path: 'pg_catalog,public' });
      } finally {
        await pool.end();
      }
    });

    it('cannot log in, is no superuser, creates nothing, and is a member of no other role', async () => {
      const { rows } = await t.ownerPool.query(
        `SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,
                (SELECT count(*)::int FROM pg_auth_members m WHERE m.member = r.oid) AS memberships,
                has_schema_privilege(r.oid, 'public', 'USAGE') AS schema_usage,
                has_schema_privilege(r.oid, 'public', 'CREATE') AS schema_create,
                has_database_privilege(r.oid, current_database(), 'CREATE') AS database_create
         FROM pg_roles r WHERE rolname = $1`,
        [APP_ROLE],
      );
      expect(rows).to.deep.equal([
        {
          rolcanlogin: false,
          rolsuper: false,
          rolcreatedb: false,
          rolcreaterole: false,
          rolreplication: false,
          rolbypassrls: false,
          memberships: 0,
          schema_usage: true,
          schema_create: false,
          database_create: false,
        },
      ]);
    });
  });

  describe('its privileges', () => {
    it('are exactly the expected ones on every table and sequence of the public schema', async () => {
      const actual = await privilegesOf(t.ownerPool, APP_ROLE);
      const undecided = Object.keys(actual).filter((name) => !(name in EXPECTED_PRIVILEGES));
      expect(undecided, 'relations whose grants nobody decided: grant them in a migration and list them above').to.deep.equal([]);
      expect(actual).to.deep.equal(EXPECTED_PRIVILEGES);
    });

    it('cover every named statement in src/db/queries (EXPLAIN checks the privileges, row locks included)', async () => {
      const dir = new URL('../../src/db/queries/', import.meta.url);
      const files = readdirSync(dir).filter((name) => name.endsWith('.sql'));
      expect(files.length).to.be.greaterThan(50);
      const refused: string[] = [];
      for (const file of files) {
        const text = readFileSync(new URL(file, dir), 'utf8');
        const parameters = Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((match) => Number(match[1])));
        try {
          await t.pool.query(
            `EXPLAIN ${text}`,
            Array.from({ length: parameters }, () => null),
          );
        } catch (error) {
          refused.push(`${file}: ${(error as Error).message}`);
        }
      }
      expect(refused).to.deep.equal([]);
    });

    it('EXPLAIN does refuse what the role may not do (so the test above proves something)', async () => {
      expect(await sqlErrorCode(t.pool, 'EXPLAIN DELETE FROM incident_events')).to.equal('42501');
      expect(await sqlErrorCode(t.pool, 'EXPLAIN SELECT * FROM audit_log FOR UPDATE')).to.equal('42501');
    });

    it('let degraded mode claim due escalations with FOR UPDATE OF incidents SKIP LOCKED', async () => {
      const client = await t.pool.connect();
      try {
        await client.query('BEGIN');
        const text = readFileSync(new URL('../../src/db/queries/escalations-claim-due.sql', import.meta.url), 'utf8');
        const { rows } = await client.query<{ id: string }>(text, [new Date('2100-01-01T00:00:00Z'), 10]);
        expect(rows.map((row) => row.id)).to.include(escalationId);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });
  });

  describe('the audit log', () => {
    it("takes the request id the client sent beside the server's own, up to 128 characters", async () => {
      const line = `INSERT INTO audit_log (occurred_at, actor, method, path, status, request_id, client_request_id)
                    VALUES (now(), 'test', 'POST', '/incidents', 201, 'server-id', $1) RETURNING client_request_id`;
      const { rows } = await t.pool.query(line, ['c'.repeat(128)]);
      expect(rows).to.deep.equal([{ client_request_id: 'c'.repeat(128) }]);
      expect(await sqlErrorCode(t.pool, line, ['c'.repeat(129)])).to.equal('23514');
    });
  });

  describe('refuses with permission denied (42501)', () => {
    const refusals: [string, string, unknown[]?][] = [
      ['UPDATE of an event', `UPDATE incident_events SET actor = 'mallory'`],
      ['DELETE of events', `DELETE FROM incident_events`],
      ['TRUNCATE of events', `TRUNCATE incident_events`],
      ['locking events (a row lock needs UPDATE)', `SELECT 1 FROM incident_events FOR KEY SHARE`],
      ['UPDATE of the audit log', `UPDATE audit_log SET actor = 'mallory'`],
      ['DELETE from the audit log', `DELETE FROM audit_log`],
      ['TRUNCATE of the audit log', `TRUNCATE audit_log`],
      ['DELETE of escalations', `DELETE FROM escalations`],
      ['TRUNCATE of escalations', `TRUNCATE escalations`],
      ['rewriting when an escalation is due', `UPDATE escalations SET scheduled_at = scheduled_at + interval '1 hour'`],
      ['rewriting which level an escalation is', `UPDATE escalations SET escalation_level = 9`],
      ['rewriting why an escalation exists', `UPDATE escalations SET trigger = 'manual'`],
      ['DELETE of an incident', `DELETE FROM incidents`],
      ["rewriting an incident's title", `UPDATE incidents SET title = 'nothing to see'`],
      ["rewriting an incident's description", `UPDATE incidents SET description = NULL`],
      ["rewriting an incident's severity", `UPDATE incidents SET severity = 'info'`],
      ['moving an incident to another service', `UPDATE incidents SET service_id = NULL`],
      ['moving an incident to another team', `UPDATE incidents SET team_id = NULL`],
      ['rewriting when an incident was opened', `UPDATE incidents SET created_at = created_at - interval '1 day'`],
      ["rewriting an incident's id", `UPDATE incidents SET id = gen_random_uuid()`],
      ['TRUNCATE of incidents', `TRUNCATE incidents`],
      ['changing what a token may do', `UPDATE api_tokens SET scopes = ARRAY['admin']`],
      ['DELETE of a token', `DELETE FROM api_tokens`],
      ['reading the migrations table', `SELECT * FROM pgmigrations`],
      ['writing the migrations table', `INSERT INTO pgmigrations (name, run_on) VALUES ('forged', now())`],
      ['changing the migrations table', `UPDATE pgmigrations SET name = name`],
      ['deleting from the migrations table', `DELETE FROM pgmigrations`],
      ['TRUNCATE of the migrations table', `TRUNCATE pgmigrations`],
      ['disabling a guard trigger', `ALTER TABLE escalations DISABLE TRIGGER escalations_guard_status`],
      ['creating a table', `CREATE TABLE public.shadow (id int)`],
    ];
    for (const [what, text] of refusals) {
      it(what, async () => {
        expect(await sqlErrorCode(t.pool, text), text).to.equal('42501');
      });
    }

    it('and the rows are all still there', async () => {
      const { rows } = await t.ownerPool.query<{ events: number; escalations: number; migrations: number }>(
        `SELECT (SELECT count(*)::int FROM incident_events WHERE incident_id = $1) AS events,
                (SELECT count(*)::int FROM escalations WHERE incident_id = $1) AS escalations,
                (SELECT count(*)::int FROM pgmigrations) AS migrations`,
        [incidentId],
      );
      expect(rows[0]?.events).to.be.greaterThan(0);
      expect(rows[0]?.escalations).to.equal(1);
      expect(rows[0]?.migrations).to.be.greaterThan(5);
    });
  });

  describe('revoking a token', () => {
    const newToken = async () => (await createToken(t.deps, { name: 'to revoke', scopes: ['read'], teamId: null, expiresAt: null }, { via: 'test' })).record.id;
    const revokeNow = (id: string) => t.pool.query(`UPDATE api_tokens SET revoked_at = clock_timestamp() WHERE id = $1`, [id]);

    it('is dated now: a future time is refused (23514), so a token cannot stay valid until a later date', async () => {
      const id = await newToken();
      expect(await sqlErrorCode(t.pool, `UPDATE api_tokens SET revoked_at = now() + interval '1 day' WHERE id = $1`, [id])).to.equal('23514');
      await revokeNow(id);
      const { rows } = await t.pool.query(`SELECT revoked_at IS NOT NULL AS revoked FROM api_tokens WHERE id = $1`, [id]);
      expect(rows).to.deep.equal([{ revoked: true }]);
    });

    it("may be dated in the past (the application's clock here), as the application does", async () => {
      const id = await newToken();
      await t.pool.query(readFileSync(new URL('../../src/db/queries/tokens-revoke.sql', import.meta.url), 'utf8'), [
        id,
        t.clock.now(),
        'klaxon_test_revocations',
      ]);
      const { rows } = await t.pool.query<{ revoked_at: Date }>(`SELECT revoked_at FROM api_tokens WHERE id = $1`, [id]);
      expect(rows[0]?.revoked_at.toISOString()).to.equal(t.clock.now().toISOString());
    });

    it('happens once: a second revocation, to any time, stays refused (23001)', async () => {
      const id = await newToken();
      await revokeNow(id);
      expect(await sqlErrorCode(t.pool, `UPDATE api_tokens SET revoked_at = now() + interval '1 day' WHERE id = $1`, [id])).to.equal('23001');
      expect(await sqlErrorCode(t.pool, `UPDATE api_tokens SET revoked_at = NULL WHERE id = $1`, [id])).to.equal('23001');
    });
  });

  describe('the down migration', () => {
    const downOf = (suffix: string) => {
      const file = readdirSync(new URL('../../migrations/', import.meta.url)).find((name) => name.endsWith(suffix));
      const text = readFileSync(new URL(`../../migrations/${file}`, import.meta.url), 'utf8');
      return { up: text.split('-- Down Migration')[0] ?? '', down: text.split('-- Down Migration')[1] ?? '' };
    };

    it('of the security hardening gives back the table-wide UPDATE on incidents, and its up applies again', async () => {
      const { up, down } = downOf('_security-hardening.sql');
      const client = await t.ownerPool.connect();
      try {
        await client.query('BEGIN');
        await client.query(down);
        expect((await privilegesOf(client, APP_ROLE)).incidents).to.equal('SELECT, INSERT, UPDATE');
        const { rows } = await client.query(
          `SELECT (SELECT count(*)::int FROM pg_trigger WHERE tgname = 'incidents_guard_identity') AS triggers,
                  (SELECT count(*)::int FROM pg_attribute WHERE attrelid = 'audit_log'::regclass AND attname = 'client_request_id') AS columns`,
        );
        expect(rows).to.deep.equal([{ triggers: 0, columns: 0 }]);
        await client.query(up);
        // A later migration grants more columns of incidents: its grant, as it would be applied again after.
        const laterGrant = /^GRANT UPDATE \([^)]*\) ON incidents TO klaxon_app;$/m.exec(downOf('_alert-intake.sql').up)?.[0] ?? 'missing';
        await client.query(laterGrant);
        expect(await privilegesOf(client, APP_ROLE)).to.deep.equal(EXPECTED_PRIVILEGES);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });

    it('of the guards defined once gives back the hand-written guards, which refuse the same, and its up applies again', async () => {
      const { up, down } = downOf('_guards-defined-once.sql');
      const triggersOn = async (client: pg.PoolClient) =>
        (
          await client.query<{ name: string }>(
            `SELECT tgname AS name FROM pg_trigger WHERE tgrelid IN ('escalations'::regclass, 'api_tokens'::regclass, 'incidents'::regclass)
               AND tgname LIKE '%guard%' ORDER BY 1`,
          )
        ).rows.map((row) => row.name);
      const refusal = async (client: pg.PoolClient) => {
        await client.query('SAVEPOINT probe');
        try {
          await client.query(`UPDATE escalations SET scheduled_at = scheduled_at + interval '1 hour', status = 'CANCELLED', cancelled_at = now()`);
          return 'no refusal';
        } catch (error) {
          return (error as Error).message.replace(/[0-9a-f-]{36}/, '<id>');
        } finally {
          await client.query('ROLLBACK TO SAVEPOINT probe');
        }
      };
      const client = await t.ownerPool.connect();
      try {
        await client.query('BEGIN');
        const generated = [
          'api_tokens_guard_identity',
          'api_tokens_guard_revocation',
          'escalations_guard_identity',
          'escalations_guard_status',
          'incidents_guard_identity',
          'incidents_guard_terminal',
        ];
        expect(await triggersOn(client)).to.deep.equal(generated);
        const refused = await refusal(client);
        expect(refused).to.equal('escalation <id>: what was scheduled cannot be rewritten');
        await client.query(down);
        expect(await triggersOn(client)).to.deep.equal([
          'api_tokens_guard_update',
          'escalations_guard_update',
          'incidents_guard_identity',
          'incidents_guard_terminal',
        ]);
        expect(await refusal(client)).to.equal(refused);
        await client.query(up);
        expect(await triggersOn(client)).to.deep.equal(generated);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });

    it("of the application role revokes this database's grants and leaves the role to the other databases", async () => {
      const { down } = downOf('_application-role.sql');
      const client = await t.ownerPool.connect();
      try {
        await client.query('BEGIN');
        // The later migrations that grant first, as a rollback would run them.
        await client.query(downOf('_alert-intake.sql').down);
        await client.query(downOf('_notifications.sql').down);
        await client.query(downOf('_escalation-failures.sql').down);
        await client.query(down);
        const left = Object.entries(await privilegesOf(client, APP_ROLE)).filter(([, privileges]) => privileges !== '');
        expect(left).to.deep.equal([]);
        const { rows } = await client.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [APP_ROLE]);
        expect(rows).to.have.length(1);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });
  });
});
