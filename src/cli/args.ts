/**
 * How CLI commands declare themselves and how their arguments are read: node's
 * util.parseArgs (strict, so an unknown flag is refused), plus a help text built from
 * the same declaration, so `--help` cannot drift from what is accepted.
 *
 * Exit codes follow sysexits(3): 64 (EX_USAGE) for a command used wrongly, 78
 * (EX_CONFIG) for a bad setting, as the other processes do.
 */
import { parseArgs } from 'node:util';
import type { Needs, Session } from './session.ts';

export const EXIT = {
  OK: 0,
  /** The command ran and was refused (not found, invalid transition, ...). */
  FAILED: 1,
  USAGE: 64,
  /** Postgres could not be reached. */
  UNAVAILABLE: 69,
  /** A bug: an error nobody expected. */
  SOFTWARE: 70,
  CONFIG: 78,
} as const;

/** A command used wrongly: the message, then a pointer to its help, exit 64. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command path whose help applies ("token create"), for the pointer. */
    readonly path = '',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A command that ran and failed in a way its message fully explains: exit 1, no stack trace. */
export class CommandFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailed';
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in the help (`NAME`); string options only. */
  value?: string;
  description: string;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  aliases?: string[];
  summary: string;
  /** Positional arguments, in order, all required (`ID`). */
  positionals?: string[];
  /** What the usage line shows after the positionals (default: `[options]`), for required options. */
  synopsis?: string;
  options?: Record<string, OptionSpec>;
  /** Longer explanation shown by --help. */
  details?: string;
  examples?: string[];
  needs: Needs;
  run(args: ParsedArgs, session: Session): Promise<void>;
}

export interface Group {
  name: string;
  aliases?: string[];
  summary: string;
  commands: Command[];
}

export type Entry = Command | Group;

export function isGroup(entry: Entry): entry is Group {
  return 'commands' in entry;
}

export function matches(entry: { name: string; aliases?: string[] }, word: string): boolean {
  return entry.name === word || (entry.aliases ?? []).includes(word);
}

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

export function isHelpFlag(arg: string | undefined): boolean {
  return arg === '--help' || arg === '-h';
}

export function parseCommandArgs(command: Command, path: string, argv: string[]): ParsedArgs {
  const options = Object.fromEntries(
    Object.entries({ ...command.options, help: HELP_OPTION }).map(([name, spec]) => [
      name,
      spec.short ? { type: spec.type, short: spec.short } : { type: spec.type },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(parseArgsMessage(error), path);
  }
  const values = parsed.values as ParsedArgs['values'];
  if (values.help === true) return { values, positionals: [] };
  const expected = command.positionals ?? [];
  // Positionals are counted, never echoed: one may be a token pasted in the wrong place.
  if (parsed.positionals.length < expected.length) {
    throw new UsageError(`missing ${expected.slice(parsed.positionals.length).join(' ')}`, path);
  }
  if (parsed.positionals.length > expected.length) {
    const extra = parsed.positionals.length - expected.length;
    throw new UsageError(expected.length === 0 ? `takes no arguments (got ${extra})` : `takes only ${expected.join(' ')} (got ${extra} more)`, path);
  }
  return { values, positionals: parsed.positionals };
}

/** parseArgs' errors, reworded (their own wording mentions `parseArgs` and `strict:true`). */
function parseArgsMessage(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const flag = /'(-[^' ]*)/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${flag ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return flag && /argument missing/.test(message) ? `option ${flag} needs a value` : `option ${flag ?? ''} takes no value`.replace('  ', ' ');
    default:
      return message;
  }
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** An integer option within bounds, or a usage error naming it. */
export function intOption(args: ParsedArgs, name: string, path: string, min: number, max: number): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`, path);
  }
  return Number(text);
}

// ------------------------------------------------------------------------- help texts

export function commandHelp(program: string, path: string, command: Command): string {
  const options = Object.entries({ ...command.options, help: HELP_OPTION });
  const lines = [
    `${command.summary}`,
    '',
    `Usage: ${program} ${path}${(command.positionals ?? []).map((p) => ` ${p}`).join('')} ${command.synopsis ?? '[options]'}`,
  ];
  if (command.aliases?.length) lines.push(`Also: ${command.aliases.map((alias) => `${program} ${path.replace(/\S+$/, alias)}`).join(', ')}`);
  if (command.details) lines.push('', command.details);
  lines.push('', 'Options:');
  const labels = options.map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '';
    return `${short}--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
  });
  const width = Math.max(...labels.map((label) => label.length));
  options.forEach(([, spec], i) => lines.push(`  ${(labels[i] as string).padEnd(width)}  ${spec.description}`));
  if (command.examples?.length) {
    lines.push('', 'Examples:');
    for (const example of command.examples) lines.push(`  ${example}`);
  }
  return `${lines.join('\n')}\n`;
}

export function groupHelp(program: string, group: Group): string {
  const width = Math.max(...group.commands.map((c) => c.name.length + (c.positionals ?? []).join(' ').length + 1));
  const lines = [
    group.summary,
    '',
    `Usage: ${program} ${group.name} <command> [options]`,
    '',
    'Commands:',
    ...group.commands.map((c) => `  ${`${c.name} ${(c.positionals ?? []).join(' ')}`.padEnd(width)}  ${c.summary}`),
    '',
    `Run \`${program} ${group.name} <command> --help\` for a command's options.`,
  ];
  return `${lines.join('\n')}\n`;
}

export function programHelp(program: string, entries: readonly Entry[], footer: string): string {
  const rows: [string, string][] = [];
  for (const entry of entries) {
    if (isGroup(entry)) {
      for (const c of entry.commands) rows.push([`${entry.name} ${c.name}${(c.positionals ?? []).map((p) => ` ${p}`).join('')}`, c.summary]);
    } else {
      rows.push([entry.name, entry.summary]);
    }
  }
  const width = Math.max(...rows.map(([left]) => left.length));
  const lines = [
    `${program}: operate klaxon from a shell (talks to Postgres directly, organisation-wide)`,
    '',
    `Usage: ${program} <command> [options]`,
    '',
    'Commands:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
    '',
    footer,
  ];
  return `${lines.join('\n')}\n`;
}
