/**
 * `klaxon integration-key create|list|revoke`: a service's integration (routing) keys
 * (issue 12) without curl. As with API tokens, a key is printed once, by `create`, on
 * stdout, and nowhere else: not in the details (stderr), not in `list`. A Grafana
 * signing secret is read from a file (or stdin), never from the command line, where
 * every user of the machine could read it in the process list.
 */
import { readFileSync } from 'node:fs';
import { INTEGRATION_KEY_LIMITS, createIntegrationKey, listIntegrationKeys, revokeIntegrationKey } from '../commands/integration-keys.ts';
import { isUuid } from '../domain/ids.ts';
import type { IntegrationKey } from '../domain/integration-keys.ts';
import { EVERY_TEAM } from '../domain/team-scope.ts';
import { presentIntegrationKey } from '../presenters/integration-keys.ts';
import { type Command, type Group, type ParsedArgs, UsageError, flag, intOption, stringOption } from './args.ts';
import { json, line, table, when } from './output.ts';

const LIST_PAGE = 100;

function uuidOption(args: ParsedArgs, name: string, path: string): string {
  const value = stringOption(args, name);
  if (value === undefined) throw new UsageError(`--${name} is required (an id, a UUID)`, path);
  if (!isUuid(value)) throw new UsageError(`--${name} must be an id (a UUID)`, path);
  return value.toLowerCase();
}

/** The secret in a file (`-`: stdin), without its final line break; never repeated in a message. */
function signingSecretOption(args: ParsedArgs, path: string): string | null {
  const file = stringOption(args, 'signing-secret-file');
  if (file === undefined) return null;
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`--signing-secret-file: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`, path);
  }
  return text.replace(/\r?\n$/, '');
}

/** One line about a key, its name escaped. */
function describe(key: IntegrationKey): string {
  const rate =
    key.ratePerMinute === null && key.rateBurst === null ? 'default rate' : `rate ${key.ratePerMinute ?? 'default'}/min, burst ${key.rateBurst ?? 'default'}`;
  return line`integration key ${key.hint} "${key.name}" (id ${key.id}) of service ${key.serviceId}: ${rate}, ${key.signed ? 'signed' : 'unsigned'}`;
}

const create: Command = {
  name: 'create',
  summary: "create a service's integration key and print it once",
  synopsis: '--service SERVICE_ID --name NAME [options]',
  needs: 'database',
  options: {
    service: { type: 'string', value: 'SERVICE_ID', description: 'the service whose incidents its alerts open' },
    name: { type: 'string', value: 'NAME', description: 'what sends with it (1-200 characters), e.g. "alertmanager prod"' },
    'rate-per-minute': { type: 'string', value: 'N', description: 'sustained alerts a minute (default: INTAKE_RATE_PER_MINUTE)' },
    'rate-burst': { type: 'string', value: 'N', description: 'alerts at once after a quiet spell (default: INTAKE_RATE_BURST)' },
    'signing-secret-file': {
      type: 'string',
      value: 'FILE',
      description: "Grafana's HMAC secret, read from FILE (- for stdin); Grafana's requests must then be signed",
    },
    quiet: { type: 'boolean', short: 'q', description: 'print only the key (for KEY=$(...)), no details' },
    json: { type: 'boolean', description: 'print the key and its record as JSON' },
  },
  details:
    'The key goes to stdout, once; it cannot be shown again (only its SHA-256 is stored).\n' +
    'The details go to stderr. The key is recorded as created by cli:<your OS user>.',
  examples: [
    'klaxon integration-key create --service 0f7f2f4e-55f5-4b43-9d55-3d1d1c3ce2a1 --name alertmanager',
    'KEY=$(klaxon integration-key create --service "$SERVICE" --name grafana --signing-secret-file secret.txt --quiet)',
  ],
  async run(args, session) {
    const path = 'integration-key create';
    const serviceId = uuidOption(args, 'service', path);
    const name = stringOption(args, 'name')?.trim();
    if (!name) throw new UsageError('--name is required (what sends alerts with it)', path);
    const { rateMax } = INTEGRATION_KEY_LIMITS;
    const ratePerMinute = intOption(args, 'rate-per-minute', path, 1, rateMax) ?? null;
    const rateBurst = intOption(args, 'rate-burst', path, 1, rateMax) ?? null;
    const signingSecret = signingSecretOption(args, path);
    const { deps } = await session.connect();
    const created = await createIntegrationKey(deps, EVERY_TEAM, { serviceId, name, ratePerMinute, rateBurst, signingSecret }, session.actor);
    if (flag(args, 'json')) {
      session.out(json({ ...presentIntegrationKey(created.record), key: created.key }));
      return;
    }
    session.out(`${created.key}\n`);
    if (!flag(args, 'quiet')) session.err(`created ${describe(created.record)}\nthe key above is shown only this once: store it now\n`);
  },
};

const list: Command = {
  name: 'list',
  summary: "list a service's integration keys (hints only, never the keys)",
  synopsis: '--service SERVICE_ID [options]',
  needs: 'database',
  options: {
    service: { type: 'string', value: 'SERVICE_ID', description: 'the service' },
    'all-pages': { type: 'boolean', description: `every key, not only the first ${LIST_PAGE}` },
    json: { type: 'boolean', description: 'print JSON' },
  },
  examples: ['klaxon integration-key list --service 0f7f2f4e-55f5-4b43-9d55-3d1d1c3ce2a1'],
  async run(args, session) {
    const serviceId = uuidOption(args, 'service', 'integration-key list');
    const { pool } = await session.connect();
    const items: IntegrationKey[] = [];
    let page = await listIntegrationKeys(pool, EVERY_TEAM, serviceId, { limit: LIST_PAGE });
    items.push(...page.items);
    while (page.next && flag(args, 'all-pages')) {
      page = await listIntegrationKeys(pool, EVERY_TEAM, serviceId, { limit: LIST_PAGE, after: page.next });
      items.push(...page.items);
    }
    const more = page.next !== null;
    if (flag(args, 'json')) {
      session.out(json({ items: items.map(presentIntegrationKey), more }));
    } else {
      session.out(
        table(
          ['ID', 'HINT', 'NAME', 'RATE/MIN', 'BURST', 'SIGNED', 'CREATED', 'CREATED BY', 'REVOKED'],
          items.map((k) => [
            k.id,
            k.hint,
            k.name,
            k.ratePerMinute === null ? 'default' : String(k.ratePerMinute),
            k.rateBurst === null ? 'default' : String(k.rateBurst),
            k.signed ? 'yes' : 'no',
            when(k.createdAt),
            k.createdBy,
            when(k.revokedAt),
          ]),
        ),
      );
    }
    if (more) session.err(`more keys than these ${items.length}: add --all-pages\n`);
  },
};

const revoke: Command = {
  name: 'revoke',
  summary: 'revoke an integration key at once',
  positionals: ['ID'],
  needs: 'database',
  options: { json: { type: 'boolean', description: 'print the revoked key as JSON' } },
  details:
    'ID is the key id (from `klaxon integration-key list`), not the key.\n' +
    'Alerts sent with it are refused from the next one on. Revoking twice is harmless.',
  examples: ['klaxon integration-key revoke 6b1c0d2e-9f3a-4b5c-8d7e-1f2a3b4c5d6e'],
  async run(args, session) {
    const given = args.positionals[0] as string;
    // Never repeat what was given: it may be the key itself.
    if (!isUuid(given)) throw new UsageError('ID must be the key id (a UUID) from `klaxon integration-key list`, not the key', 'integration-key revoke');
    const { deps, clock } = await session.connect();
    const asked = clock.now();
    const key = await revokeIntegrationKey(deps, EVERY_TEAM, given.toLowerCase(), session.actor);
    if (flag(args, 'json')) {
      session.out(json(presentIntegrationKey(key)));
      return;
    }
    const earlier = key.revokedAt !== null && key.revokedAt.getTime() < asked.getTime();
    session.out(
      earlier
        ? line`integration key ${key.hint} "${key.name}" was already revoked at ${when(key.revokedAt)}\n`
        : line`revoked integration key ${key.hint} "${key.name}" (id ${key.id}) at ${when(key.revokedAt)}\n`,
    );
  },
};

export const integrationKeyGroup: Group = {
  name: 'integration-key',
  aliases: ['integration-keys'],
  summary: "a service's integration (routing) keys: create, list, revoke",
  commands: [create, list, revoke],
};
