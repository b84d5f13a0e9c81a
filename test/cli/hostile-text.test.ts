/**
 * The CLI as a real process, on an incident, a policy, people and a token whose stored
 * text holds terminal escape sequences (OSC 52 writes the operator's clipboard, OSC 8
 * fakes a link, CSI clears the screen), C1 controls, BEL, backspaces, carriage returns,
 * bidi overrides and zero-width characters. Nothing of it may reach the terminal raw,
 * on stdout or stderr, in the human output or in --json; the human output shows it
 * escaped, and --json parses back to the stored strings.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPolicy } from '../../src/commands/policies.ts';
import { openIncident } from '../../src/commands/open-incident.ts';
import { createToken } from '../../src/commands/tokens.ts';
import { run, sql } from '../../src/db/queries.ts';
import { EVERY_TEAM } from '../../src/domain/team-scope.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createServiceRow, createUser } from '../support/factories.ts';
import { finished, spawnKlaxon } from '../support/processes.ts';
import { unsafeCodePoints } from '../support/unsafe-text.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Json = Record<string, unknown>;

// Each hostile string below is followed by the way the human output must show it.
// (No NUL, which Postgres text cannot hold, and no lone surrogate, which the driver
// sends as U+FFFD: test/cli/output.test.ts covers both.)

// Short enough to be shown whole (70 columns, escaped) in `incident list`.
const TITLE = '\x1b[31mdisk \x1b]52;c;aGk=\x07\u009b2J\x07ok\b C:\\x1b\u202Eexe';
const TITLE_SHOWN = String.raw`\x1b[31mdisk \x1b]52;c;aGk=\x07\u009b2J\x07ok\x08 C:\\x1b\u202eexe`;

const DESCRIPTION = 'first\n\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \u{E0041}\u{E007F}';
const DESCRIPTION_SHOWN = String.raw`first \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \u{e0041}\u{e007f}`;

const ACTOR = 'ops\r\x1b]0;owned\x07\u2066bot\u2069\x7f';
const ACTOR_SHOWN = String.raw`ops\r\x1b]0;owned\x07\u2066bot\u2069\x7f`;

const NOTE = 'looked\u2028\x1b[8mhidden\x1b[28m\u200B';
const NOTE_SHOWN = String.raw`looked\u2028\x1b[8mhidden\x1b[28m\u200b`;

const ACK_NOTE = 'ack\u009d0;title\u009c\x07';
const ACK_NOTE_SHOWN = String.raw`ack\u009d0;title\u009c\x07`;

const USER = 'Mallory\x1b[2J\uFEFF';
const USER_SHOWN = String.raw`Mallory\x1b[2J\ufeff`;

const POLICY = 'night\x1b]52;c;aGk=\x07\u202Dshift';
const POLICY_SHOWN = String.raw`night\x1b]52;c;aGk=\x07\u202dshift`;

const TOKEN_NAME = 'bot\x1b]52;c;cm0gLXJmIC8=\x07\u202E\x7f';
const TOKEN_NAME_SHOWN = String.raw`bot\x1b]52;c;cm0gLXJmIC8=\x07\u202e\x7f`;

/** A flag typed (or scripted) with an escape sequence in it: usage errors quote the flag. */
const BAD_FLAG = '--\x1b]52;c;aGk\x07\u009b';
const BAD_FLAG_SHOWN = String.raw`--\x1b]52;c;aGk\x07\u009b`;

// DEL and the tag characters matter to --json: JSON.stringify leaves them raw, and the
// CLI's last guard would write them in a form JSON cannot parse (\x7f, \u{e0041}).

async function cli(t: TestContext, args: string[]) {
  const result = await finished(spawnKlaxon(t, 'src/cli/main.ts', args, {}));
  // Named in ASCII: a failure report must not drive the terminal either.
  const command = `klaxon ${args.join(' ')}`.replace(/[^ -~]/gu, (char) => `<U+${(char.codePointAt(0) as number).toString(16)}>`);
  expect(unsafeCodePoints(result.stdout, ['\n']), `raw on stdout of ${command}`).to.deep.equal([]);
  expect(unsafeCodePoints(result.stderr, ['\n']), `raw on stderr of ${command}`).to.deep.equal([]);
  return result;
}

describe('the klaxon CLI on stored text that would drive a terminal', () => {
  let t: TestContext;
  let incidentId: string;
  let tokenId: string;

  before(async () => {
    t = await createTestContext();
    t.clock.set(new Date());
    const userId = await createUser(t.pool, USER);
    const policy = await createPolicy(t.deps, EVERY_TEAM, {
      name: POLICY,
      repeatCount: 0,
      levels: [{ delay: '5m', targets: [{ type: 'user', id: userId }] }],
    });
    const serviceId = await createServiceRow(t.pool, 'checkout', policy.id);
    const incident = await openIncident(t.deps, EVERY_TEAM, {
      title: TITLE,
      description: DESCRIPTION,
      severity: 'critical',
      serviceId,
      escalate: true,
      actor: ACTOR,
      note: NOTE,
    });
    incidentId = incident.id;
    // What the worker records when a level pages someone (it would take a 5-minute wait).
    const paged = [{ user_id: userId, name: USER, via: { type: 'user', id: userId } }];
    const now = t.clock.now();
    await run(t.pool, sql('incident-set-assignees'), [incidentId, JSON.stringify(paged), now]);
    await t.pool.query(`INSERT INTO incident_events (incident_id, kind, occurred_at, details) VALUES ($1, 'escalated', $2, $3)`, [
      incidentId,
      now,
      JSON.stringify({ level: 1, paged }),
    ]);
    const token = await createToken(t.deps, { name: TOKEN_NAME, scopes: ['read'], teamId: null, expiresAt: null }, { via: 'test' });
    tokenId = token.record.id;
  });
  after(() => t.close());

  it('incident list shows the title escaped, on one row; --json gives it back as stored', async () => {
    const [human, json] = await Promise.all([cli(t, ['incident', 'list']), cli(t, ['incident', 'list', '--json'])]);
    expect(human.code, human.stderr).to.equal(0);
    const rows = human.stdout.split('\n').filter((row) => row.startsWith(incidentId));
    expect(rows).to.have.length(1);
    expect(rows[0])
      .to.match(/ESCALATING\s+critical\s+0\s+\S+ \S+\s+/)
      .and.satisfy((row: string) => row.endsWith(`  ${TITLE_SHOWN}`));
    expect(human.stdout.trimEnd().split('\n')).to.have.length(2);

    expect(json.code, json.stderr).to.equal(0);
    const items = (JSON.parse(json.stdout) as { items: Json[] }).items;
    expect(items).to.have.length(1);
    expect(items[0]).to.include({ id: incidentId, title: TITLE, description: DESCRIPTION });
  });

  it('incident show escapes the title, description, policy, assignees, actors, notes and paged names; --json gives them back', async () => {
    const [human, json] = await Promise.all([cli(t, ['incident', 'show', incidentId]), cli(t, ['incident', 'show', incidentId, '--json'])]);
    expect(human.code, human.stderr).to.equal(0);
    expect(human.stdout)
      .to.include(`title          ${TITLE_SHOWN}\n`)
      .and.include(`description    ${DESCRIPTION_SHOWN}\n`)
      .and.include(`policy         ${POLICY_SHOWN} (`)
      .and.include(`assignees      ${USER_SHOWN}\n`)
      .and.include(`level 1; paged ${USER_SHOWN}`);
    const eventRows = human.stdout.slice(human.stdout.indexOf('\nEvents\n')).trim().split('\n').slice(2);
    expect(eventRows).to.have.length(3); // opened, escalation started, escalated: one line each
    expect(eventRows[0])
      .to.match(/opened\s+-\s+OPEN\s+/)
      .and.include(`${ACTOR_SHOWN}  "${NOTE_SHOWN}"`);

    expect(json.code, json.stderr).to.equal(0);
    const shown = JSON.parse(json.stdout) as Json & { events: Json[]; policy: Json; assignees: Json[] };
    expect(shown).to.include({ title: TITLE, description: DESCRIPTION });
    expect(shown.policy.name).to.equal(POLICY);
    expect(shown.assignees[0]?.name).to.equal(USER);
    expect(shown.events[0]).to.include({ kind: 'opened', actor: ACTOR, note: NOTE });
    expect(shown.events.at(-1)?.details).to.deep.include({ level: 1 });
    expect((shown.events.at(-1)?.details as { paged: Json[] }).paged[0]?.name).to.equal(USER);
  });

  it('incident ack with such a note: the title escaped in its line, and the note escaped in show', async () => {
    const ack = await cli(t, ['incident', 'ack', incidentId, '--note', ACK_NOTE]);
    expect(ack.code, ack.stderr).to.equal(0);
    expect(ack.stdout).to.equal(`incident ${incidentId} "${TITLE_SHOWN}" is ACKNOWLEDGED (version 4)\n`);

    const [human, json] = await Promise.all([cli(t, ['incident', 'show', incidentId]), cli(t, ['incident', 'show', incidentId, '--json'])]);
    expect(human.stdout).to.match(new RegExp(`acknowledged\\s+ESCALATING\\s+ACKNOWLEDGED\\s+cli:\\S+\\s+"${escapeRegExp(ACK_NOTE_SHOWN)}"\n`));
    expect((JSON.parse(json.stdout) as { events: Json[] }).events.at(-1)).to.include({ kind: 'acknowledged', note: ACK_NOTE });
  });

  it('token list and token revoke escape the token name; --json gives it back', async () => {
    const [human, json] = await Promise.all([cli(t, ['token', 'list']), cli(t, ['token', 'list', '--json'])]);
    expect(human.code, human.stderr).to.equal(0);
    const rows = human.stdout.split('\n').filter((row) => row.startsWith(tokenId));
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include(`${TOKEN_NAME_SHOWN}  read`);
    expect((JSON.parse(json.stdout) as { items: Json[] }).items.map((item) => item.name)).to.include(TOKEN_NAME);

    const revoked = await cli(t, ['token', 'revoke', tokenId]);
    expect(revoked.code, revoked.stderr).to.equal(0);
    expect(revoked.stdout).to.match(new RegExp(`^revoked token [a-z0-9]{12} "${escapeRegExp(TOKEN_NAME_SHOWN)}" \\(id ${tokenId}\\)`));
  });

  it('a usage error quoting what was typed escapes it on stderr', async () => {
    const result = await cli(t, ['incident', 'list', BAD_FLAG]);
    expect(result.code).to.equal(64);
    expect(result.stderr).to.equal(`klaxon incident list: unknown option ${BAD_FLAG_SHOWN}\nRun \`klaxon incident list --help\` for usage.\n`);
  });
});

describe("the klaxon CLI's log lines, on errors that quote stored text", () => {
  it('escape the message and every string in their fields, errors included', async () => {
    // A CLI process's logger (as `klaxon` builds it) logging what the pool logs when
    // Postgres drops a connection, with an error whose message quotes hostile text.
    const script = `
      import { loadCliConfig } from './src/cli/session.ts';
      const { logger } = await loadCliConfig();
      const error = Object.assign(new Error(${JSON.stringify(`value "${TITLE}"`)}), { code: 'XX000' });
      logger.warn(${JSON.stringify(`lost ${ACTOR}`)}, { error, names: [${JSON.stringify(USER)}] });
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, DATABASE_URL: 'postgres://cli@127.0.0.1:1/unused', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = await finished(child);
    expect(result.code, result.stderr).to.equal(0);
    expect(unsafeCodePoints(result.stderr, ['\n'])).to.deep.equal([]);
    const logged = JSON.parse(result.stderr) as { message: string; names: string[]; error: { message: string; stack: string } };
    expect(logged.message).to.equal(`lost ${ACTOR_SHOWN}`);
    expect(logged.names).to.deep.equal([USER_SHOWN]);
    expect(logged.error.message).to.equal(`value "${TITLE_SHOWN}"`);
    expect(logged.error.stack.split('\n')[0]).to.equal(`Error: value "${TITLE_SHOWN}"`);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
