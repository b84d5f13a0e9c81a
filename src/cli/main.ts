/**
 * The operators' CLI: `npm run -s cli -- <command>`, or `npx klaxon <command>`.
 *
 *   klaxon token create|list|revoke|generate
 *   klaxon integration-key create|list|revoke  (`integration-keys` is the same group)
 *   klaxon incident list|show|ack|resolve      (`incidents` is the same group)
 *   klaxon escalation quarantined|release      (`escalations` is the same group)
 *   klaxon migrate
 *   klaxon stats
 *
 * It talks to Postgres directly, through the same commands as the API
 * (src/commands/), organisation-wide, as the actor `cli:<os user>`. Data goes to
 * stdout; notes, details and logs to stderr.
 *
 * Exit codes: 0 done; 1 refused (not found, invalid transition, ...: one line on
 * stderr); 64 used wrongly (unknown command or flag, a bad value); 69 Postgres
 * unreachable; 70 a bug (with its stack trace); 78 a bad setting.
 */
import { ConfigError, loadConfig, redactUrl } from '../config/config.ts';
import { DomainError } from '../domain/errors.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import {
  type Command,
  CommandFailed,
  EXIT,
  type Entry,
  UsageError,
  commandHelp,
  groupHelp,
  isGroup,
  isHelpFlag,
  matches,
  parseCommandArgs,
  programHelp,
} from './args.ts';
import { escalationGroup } from './escalations.ts';
import { incidentGroup } from './incidents.ts';
import { integrationKeyGroup } from './integration-keys.ts';
import { notificationGroup } from './notifications.ts';
import { migrateCommand } from './migrate.ts';
import { line, printableLines, terminalSafe } from './output.ts';
import { createSession } from './session.ts';
import { statsCommand } from './stats.ts';
import { tokenGroup } from './tokens.ts';

const PROGRAM = 'klaxon';
const ENTRIES: readonly Entry[] = [tokenGroup, integrationKeyGroup, incidentGroup, escalationGroup, notificationGroup, migrateCommand, statsCommand];
const FOOTER =
  `Run \`${PROGRAM} <command> --help\` for a command's options. Settings come from the environment as for\n` +
  'the other processes (DATABASE_URL required; REDIS_URL optional, used by ack, resolve and stats).\n' +
  'Logs go to stderr at level warn unless LOG_LEVEL says otherwise.';

// Every command's output is escaped where it is laid out (src/cli/output.ts); this
// guard catches what a command would forget, so no stored text drives the terminal.
const out = (text: string) => void process.stdout.write(terminalSafe(text));
const err = (text: string) => void process.stderr.write(terminalSafe(text));

/** A word the user typed, repeated in a message only when it looks like a command name (never a pasted token). */
function shown(word: string): string {
  return /^[a-z][a-z-]{0,30}$/i.test(word) ? `"${word}"` : '(not shown)';
}

interface Resolved {
  command: Command;
  path: string;
  argv: string[];
}

/** Finds the command the arguments name; null when help was printed instead. */
function resolve(argv: readonly string[]): Resolved | null {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('no command given');
  if (isHelpFlag(first) || first === 'help') {
    out(programHelp(PROGRAM, ENTRIES, FOOTER));
    return null;
  }
  const entry = ENTRIES.find((candidate) => matches(candidate, first));
  if (!entry) throw new UsageError(`unknown command ${shown(first)}`);
  if (!isGroup(entry)) return { command: entry, path: entry.name, argv: rest };
  const [sub, ...subRest] = rest;
  const names = entry.commands.map((c) => c.name).join(', ');
  if (sub === undefined) throw new UsageError(`missing command: one of ${names}`, entry.name);
  if (isHelpFlag(sub) || sub === 'help') {
    out(groupHelp(PROGRAM, entry));
    return null;
  }
  const command = entry.commands.find((candidate) => matches(candidate, sub));
  if (!command) throw new UsageError(`unknown command ${shown(sub)}; one of ${names}`, entry.name);
  return { command, path: `${entry.name} ${command.name}`, argv: subRest };
}

async function main(argv: readonly string[]): Promise<number> {
  let resolved: Resolved | null;
  try {
    resolved = resolve(argv);
    if (!resolved) return EXIT.OK;
  } catch (error) {
    return report(error);
  }
  const { command, path } = resolved;
  const session = createSession(command.needs, out, err);
  try {
    const args = parseCommandArgs(command, path, resolved.argv);
    if (args.values.help === true) {
      out(commandHelp(PROGRAM, path, command));
      return EXIT.OK;
    }
    await command.run(args, session);
    return EXIT.OK;
  } catch (error) {
    return report(error);
  } finally {
    await session.close();
  }
}

/**
 * One clear line (two for a usage error) and the exit code; a stack trace only for a bug.
 * Messages are escaped: they may quote what was typed, stored text, or what Postgres said.
 */
function report(error: unknown): number {
  if (error instanceof UsageError) {
    const where = error.path ? `${PROGRAM} ${error.path}` : PROGRAM;
    err(line`${where}: ${error.message}\nRun \`${where} --help\` for usage.\n`);
    return EXIT.USAGE;
  }
  if (error instanceof ConfigError) {
    err(line`${PROGRAM}: ${error.message}\n`);
    return EXIT.CONFIG;
  }
  if (error instanceof DomainError || error instanceof CommandFailed) {
    err(line`${PROGRAM}: ${error.message}\n`);
    return EXIT.FAILED;
  }
  if (isDatabaseUnavailable(error)) {
    err(line`${PROGRAM}: cannot reach Postgres at ${databaseShown()}: ${(error as Error).message}\n`);
    return EXIT.UNAVAILABLE;
  }
  const sqlState = postgresCode(error);
  if (sqlState) {
    err(line`${PROGRAM}: Postgres refused: ${(error as Error).message}${POSTGRES_HINTS[sqlState] ?? ''}\n`);
    return EXIT.FAILED;
  }
  const trace = error instanceof Error ? (error.stack ?? error.message) : String(error);
  err(`${PROGRAM}: unexpected error: ${printableLines(trace)}\n`);
  return EXIT.SOFTWARE;
}

/** What is likely wrong when Postgres refuses with these SQLSTATEs. */
const POSTGRES_HINTS: Readonly<Record<string, string>> = {
  '42P01': ` (run \`${PROGRAM} migrate\` first)`, // undefined_table
  '42704': ` (run \`${PROGRAM} migrate\` first, which creates the role, or set DATABASE_ROLE)`, // undefined_object: the role
  '22023': ` (run \`${PROGRAM} migrate\` first, which creates the role, or set DATABASE_ROLE)`, // role "..." does not exist
  '42501': ' (the login may not take DATABASE_ROLE, or the role may not do this)', // insufficient_privilege
  '3D000': ' (check DATABASE_URL)', // invalid_catalog_name
  '28P01': ' (check DATABASE_URL)', // invalid_password
  '28000': ' (check DATABASE_URL)', // invalid_authorization_specification
};

/** The SQLSTATE of an error Postgres sent (five characters), else null. */
function postgresCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && 'severity' in (error as object) ? code : null;
}

function databaseShown(): string {
  try {
    return redactUrl(loadConfig(process.env, { requireRedis: false }).databaseUrl);
  } catch {
    return 'DATABASE_URL';
  }
}

// `klaxon token list | head -1`: the reader went away; that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
// Everything is closed by now, so the process ends on its own; should a connection
// linger anyway, do not hang a script that is waiting on us.
setTimeout(() => process.exit(), 2_000).unref();
