/**
 * `klaxon integration-key create|list|revoke` as a real process, against the test
 * file's own database: the key printed once, on stdout only; the list shows hints; the
 * signing secret comes from a file, never the command line; revoking works and says so
 * when it was done before; nothing typed that could be a key is echoed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { IntegrationKeys } from '../../src/auth/integration-keys.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createServiceRow } from '../support/factories.ts';
import { finished, spawnKlaxon } from '../support/processes.ts';

const ACTOR = `cli:${os.userInfo().username}`;
const KEY_LINE = /^klxr[a-z0-9]{28}\n$/;

describe('klaxon integration-key', function () {
  // Each command is a process of its own (a few seconds each on a busy machine).
  this.timeout(120_000);
  let t: TestContext;
  let service: string;
  let dir: string;
  before(async () => {
    t = await createTestContext();
    t.clock.set(new Date());
    service = await createServiceRow(t.pool, 'checkout', null);
    dir = mkdtempSync(join(os.tmpdir(), 'klaxon-keys-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  const cli = (args: string[]) => finished(spawnKlaxon(t, 'src/cli/main.ts', ['integration-key', ...args], {}));

  it('create prints the key once on stdout (details on stderr), with a signing secret read from a file; list shows only hints', async () => {
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, 'grafana secret from a file\n', { mode: 0o600 });
    const created = await cli(['create', '--service', service, '--name', 'grafana', '--rate-per-minute', '600', '--signing-secret-file', secretFile]);
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout).to.match(KEY_LINE);
    const key = created.stdout.trim();
    expect(created.stderr).to.include(key.slice(0, 8)).and.include('only this once').and.not.include(key.slice(8));

    const resolved = await new IntegrationKeys(t.pool, { ratePerMinute: 120, burst: 240 }).resolve(key);
    expect(resolved).to.include({ serviceId: service, name: 'grafana', signingSecret: 'grafana secret from a file', ratePerMinute: 600, rateBurst: 240 });
    const { rows } = await t.pool.query<{ created_by: string }>('SELECT created_by FROM integration_keys WHERE id = $1', [resolved?.id]);
    expect(rows[0]?.created_by).to.equal(ACTOR);

    const [quiet, list] = await Promise.all([
      cli(['create', '--service', service, '--name', 'quiet', '--quiet']),
      cli(['list', '--service', service, '--json']),
    ]);
    expect(quiet.code, quiet.stderr).to.equal(0);
    expect(quiet.stdout).to.match(KEY_LINE);
    expect(quiet.stderr).to.equal('');
    expect(list.code, list.stderr).to.equal(0);
    const listed = JSON.parse(list.stdout) as { items: Record<string, unknown>[] };
    expect(listed.items.find((item) => item.name === 'grafana')).to.include({ key_hint: key.slice(0, 8), signed: true, rate_per_minute: 600 });
    expect(list.stdout).to.not.include(key.slice(8)).and.not.include('grafana secret');
  });

  it('revoke takes the key id; revoking again says when it was done; a key given instead is refused without being echoed', async () => {
    const created = await cli(['create', '--service', service, '--name', 'to revoke', '--json']);
    expect(created.code, created.stderr).to.equal(0);
    const { id, key } = JSON.parse(created.stdout) as { id: string; key: string };
    const first = await cli(['revoke', id]);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.match(/^revoked integration key klxr[a-z0-9]{4} "to revoke"/);
    expect(await new IntegrationKeys(t.pool, { ratePerMinute: 120, burst: 240 }).resolve(key)).to.equal(null);
    const again = await cli(['revoke', id]);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.include('was already revoked at');
    const byKey = await cli(['revoke', key]);
    expect(byKey.code).to.equal(64);
    expect(byKey.stderr).to.include('not the key').and.not.include(key.slice(8));
  });

  it('refuses bad options with exit 64 before it needs a database, and an unknown service with exit 1', async () => {
    const results = await Promise.all([
      cli(['create', '--service', 'checkout', '--name', 'x']),
      cli(['create', '--service', service]),
      cli(['create', '--service', service, '--name', 'x', '--rate-burst', '0']),
      cli(['create', '--service', service, '--name', 'x', '--signing-secret-file', join(dir, 'missing')]),
    ]);
    for (const result of results) expect(result.code, result.stderr).to.equal(64);
    const unknown = await cli(['create', '--service', '00000000-0000-4000-8000-000000000000', '--name', 'x']);
    expect(unknown.code, unknown.stderr).to.equal(1);
    const short = join(dir, 'short');
    writeFileSync(short, 'too short\n');
    const refused = await cli(['create', '--service', service, '--name', 'x', '--signing-secret-file', short]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.include('signing_secret').and.not.include('too short');
  });
});
