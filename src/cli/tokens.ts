/**
 * `klaxon token create|list|revoke|generate`: API tokens without curl, and the way to
 * the first admin token of a fresh deployment (the API needs a token before it lets
 * anyone make one).
 *
 * A token's secret is printed once, by `create`, on stdout, and nowhere else: not in
 * the details (stderr), not in an error message, not in `list`.
 */
import { SCOPES, type Scope } from '../domain/scopes.ts';
import { parseToken } from '../domain/tokens.ts';
import { createToken, listTokens, newTokenString, revokeToken, tokenIdByPublicId } from '../commands/tokens.ts';
import type { ApiToken } from '../domain/tokens.ts';
import { parseDuration } from '../domain/durations.ts';
import { isUuid } from '../domain/ids.ts';
import { EVERY_TEAM } from '../domain/team-scope.ts';
import { type Command, type Group, type ParsedArgs, UsageError, flag, stringOption } from './args.ts';
import { presentToken } from '../presenters/tokens.ts';
import { json, line, table, when } from './output.ts';
import type { Connected } from './session.ts';

const ISO_DATE_OR_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;
const NAME_MAX = 200;
const LIST_PAGE = 100;

function scopesOption(text: string | undefined, path: string): Scope[] {
  if (text === undefined) throw new UsageError(`--scopes is required (a comma-separated list of ${SCOPES.join(', ')})`, path);
  const scopes = text
    .split(',')
    .map((scope) => scope.trim().toLowerCase())
    .filter(Boolean);
  const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
  if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.join(', ')}; scopes are ${SCOPES.join(', ')}`, path);
  if (scopes.length === 0) throw new UsageError(`--scopes names no scope; scopes are ${SCOPES.join(', ')}`, path);
  return [...new Set(scopes as Scope[])];
}

/**
 * The expiry the options ask for, checked before anything connects; the instant is
 * computed from the clock corrected against Postgres, once connected.
 */
function expiryOption(args: ParsedArgs, path: string): (now: Date) => Date | null {
  const expiresIn = stringOption(args, 'expires-in');
  const expiresAt = stringOption(args, 'expires-at');
  if (expiresIn !== undefined && expiresAt !== undefined) throw new UsageError('give --expires-in or --expires-at, not both', path);
  if (expiresIn !== undefined) {
    let ms: number;
    try {
      ms = parseDuration(expiresIn);
    } catch (error) {
      throw new UsageError(`--expires-in: ${(error as Error).message}`, path);
    }
    if (ms <= 0) throw new UsageError('--expires-in must be longer than zero', path);
    return (now) => new Date(now.getTime() + ms);
  }
  if (expiresAt !== undefined) {
    const at = ISO_DATE_OR_INSTANT.test(expiresAt) ? new Date(expiresAt) : null;
    if (!at || Number.isNaN(at.getTime())) {
      throw new UsageError('--expires-at must be an ISO 8601 date or instant, e.g. 2027-01-31 or 2027-01-31T18:00:00Z', path);
    }
    return (now) => {
      if (at.getTime() <= now.getTime()) throw new UsageError(`--expires-at must be in the future (it is ${when(now)} now)`, path);
      return at;
    };
  }
  return () => null;
}

function teamOption(args: ParsedArgs, path: string): string | null {
  const team = stringOption(args, 'team');
  if (team === undefined) return null;
  if (!isUuid(team)) throw new UsageError('--team must be a team id (a UUID)', path);
  return team.toLowerCase();
}

/** One line about a token, its name escaped. */
function describe(token: ApiToken): string {
  const parts = [
    `scopes ${token.scopes.join(',')}`,
    token.teamId ? `team ${token.teamId}` : 'organisation-wide',
    token.expiresAt ? `expires ${when(token.expiresAt)}` : 'never expires',
  ];
  return line`token ${token.publicId} "${token.name}" (id ${token.id}): ${parts.join(', ')}`;
}

const create: Command = {
  name: 'create',
  summary: 'create an API token and print it once',
  synopsis: '--name NAME --scopes LIST [options]',
  needs: 'database',
  options: {
    name: { type: 'string', value: 'NAME', description: 'what the token is for (1-200 characters), e.g. "grafana"' },
    scopes: { type: 'string', value: 'LIST', description: `comma-separated: ${SCOPES.join(', ')} (admin implies the others)` },
    team: { type: 'string', value: 'TEAM_ID', description: "the team whose objects it may see and change (default: every team's)" },
    'expires-in': { type: 'string', value: 'DURATION', description: 'expires after this long, e.g. 90d, 12h (default: never)' },
    'expires-at': { type: 'string', value: 'ISO', description: 'expires at this instant, e.g. 2027-01-31T18:00:00Z' },
    quiet: { type: 'boolean', short: 'q', description: 'print only the token (for TOKEN=$(...)), no details' },
    json: { type: 'boolean', description: 'print the token and its record as JSON' },
  },
  details:
    'The token goes to stdout, once; it cannot be shown again (only a hash of its secret is stored).\n' +
    'The details go to stderr. The token is recorded as created via cli:<your OS user>.',
  examples: [
    'klaxon token create --name grafana --scopes metrics --expires-in 365d',
    'TOKEN=$(klaxon token create --name "on-call laptop" --scopes write --expires-in 90d --quiet)',
  ],
  async run(args, session) {
    const path = 'token create';
    const name = stringOption(args, 'name')?.trim();
    if (!name) throw new UsageError('--name is required (what the token is for)', path);
    if (name.length > NAME_MAX) throw new UsageError(`--name is longer than ${NAME_MAX} characters`, path);
    const scopes = scopesOption(stringOption(args, 'scopes'), path);
    const teamId = teamOption(args, path);
    const expiry = expiryOption(args, path);
    const { deps, clock } = await session.connect();
    const expiresAt = expiry(clock.now());
    const created = await createToken(deps, { name, scopes, teamId, expiresAt }, { via: session.actor });
    if (flag(args, 'json')) {
      session.out(json({ ...presentToken(created.record), token: created.token }));
      return;
    }
    session.out(`${created.token}\n`);
    if (!flag(args, 'quiet')) {
      session.err(`created ${describe(created.record)}\nthe token above is shown only this once: store it now\n`);
    }
  },
};

const list: Command = {
  name: 'list',
  summary: 'list API tokens (never their secrets)',
  needs: 'database',
  options: {
    team: { type: 'string', value: 'TEAM_ID', description: "only this team's tokens" },
    'all-pages': { type: 'boolean', description: `every token, not only the first ${LIST_PAGE}` },
    json: { type: 'boolean', description: 'print JSON' },
  },
  examples: ['klaxon token list', 'klaxon token list --team 0f7f2f4e-55f5-4b43-9d55-3d1d1c3ce2a1 --json'],
  async run(args, session) {
    const teamId = teamOption(args, 'token list');
    const { pool } = await session.connect();
    const items: ApiToken[] = [];
    let page = await listTokens(pool, teamId ? { teamId } : EVERY_TEAM, { limit: LIST_PAGE });
    items.push(...page.items);
    while (page.next && flag(args, 'all-pages')) {
      page = await listTokens(pool, teamId ? { teamId } : EVERY_TEAM, { limit: LIST_PAGE, after: page.next });
      items.push(...page.items);
    }
    const more = page.next !== null;
    if (flag(args, 'json')) {
      session.out(json({ items: items.map(presentToken), more }));
    } else {
      session.out(
        table(
          ['ID', 'PUBLIC ID', 'NAME', 'SCOPES', 'TEAM', 'EXPIRES', 'REVOKED', 'LAST USED', 'CREATED VIA'],
          items.map((t) => [
            t.id,
            t.publicId,
            t.name,
            t.scopes.join(','),
            t.teamId ?? '(all teams)',
            when(t.expiresAt),
            when(t.revokedAt),
            when(t.lastUsedAt),
            t.createdVia,
          ]),
        ),
      );
    }
    if (more) session.err(`more tokens than these ${items.length}: add --all-pages\n`);
  },
};

/** How an operator names a token: by id, by public id, or by the whole token string. */
type TokenRef = { id: string } | { publicId: string; secret: string | null };

/** Checked before anything connects; messages never repeat what was given (it may be a token). */
function tokenRef(given: string): TokenRef {
  if (isUuid(given)) return { id: given.toLowerCase() };
  if (given.startsWith('klx_')) {
    const parsed = parseToken(given);
    if (!parsed) throw new UsageError('that is not a whole klaxon token (klx_<12 characters>_<43 characters>)', 'token revoke');
    return parsed;
  }
  if (/^[a-z0-9]{12}$/.test(given)) return { publicId: given, secret: null };
  throw new UsageError('give a token id (UUID), a public id (12 characters), or the whole token (klx_...)', 'token revoke');
}

/** The id of the token named; a whole token's secret must match (a mistyped token revokes nothing). */
function tokenId(connected: Connected, ref: TokenRef): Promise<string> {
  return 'id' in ref ? Promise.resolve(ref.id) : tokenIdByPublicId(connected.pool, ref.publicId, ref.secret);
}

const revoke: Command = {
  name: 'revoke',
  summary: 'revoke an API token at once',
  positionals: ['ID'],
  needs: 'database',
  options: { json: { type: 'boolean', description: 'print the revoked token as JSON' } },
  details:
    'ID is the token id (from `klaxon token list`), its public id, or the whole token (klx_...).\n' +
    'The next request with the token is refused (401). Revoking twice is harmless.',
  examples: ['klaxon token revoke 3k9x2m7q0abc', 'klaxon token revoke "$TOKEN"'],
  async run(args, session) {
    const ref = tokenRef(args.positionals[0] as string);
    const connected = await session.connect();
    const id = await tokenId(connected, ref);
    const asked = connected.clock.now();
    const token = await revokeToken(connected.deps, EVERY_TEAM, id);
    if (flag(args, 'json')) {
      session.out(json(presentToken(token)));
      return;
    }
    const earlier = token.revokedAt !== null && token.revokedAt.getTime() < asked.getTime();
    session.out(
      earlier
        ? line`token ${token.publicId} "${token.name}" was already revoked at ${when(token.revokedAt)}\n`
        : line`revoked token ${token.publicId} "${token.name}" (id ${token.id}) at ${when(token.revokedAt)}\n`,
    );
  },
};

const generate: Command = {
  name: 'generate',
  summary: 'print a fresh admin token for KLAXON_ADMIN_TOKEN, without storing it',
  needs: 'nothing',
  options: { quiet: { type: 'boolean', short: 'q', description: 'print only the token' } },
  details:
    'Nothing is stored: the API stores the token when it starts with KLAXON_ADMIN_TOKEN set to it\n' +
    '(an organisation-wide admin token, created via "environment"). No database is needed.',
  examples: ['KLAXON_ADMIN_TOKEN=$(klaxon token generate --quiet) npm run api'],
  run(args, session) {
    session.out(`${newTokenString()}\n`);
    if (!flag(args, 'quiet')) {
      session.err('not stored: start the API with KLAXON_ADMIN_TOKEN set to this token, which stores it as an organisation-wide admin token\n');
    }
    return Promise.resolve();
  },
};

export const tokenGroup: Group = {
  name: 'token',
  aliases: ['tokens'],
  summary: 'API tokens: create, list, revoke, generate',
  commands: [create, list, revoke, generate],
};
