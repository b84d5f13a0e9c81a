/**
 * API tokens: create (the secret is returned once, only its hash is stored), list,
 * read, revoke. Tokens are never deleted: the audit log and incident events refer to
 * them. A team's admin creates, sees and revokes only its team's tokens.
 */
import { TOKEN_REVOKED_CHANNEL } from '../auth/revocations.ts';
import { type NewTokenSecret, generateToken, hashSecret, hashesMatch } from '../auth/token-format.ts';
import { type ApiToken, parseToken } from '../domain/tokens.ts';
import { type TokenRow, toApiToken } from '../db/rows.ts';
import type { Scope } from '../domain/scopes.ts';
import { type Queryable, run, sql } from '../db/queries.ts';
import { inTransaction } from '../db/transaction.ts';
import { InvalidInputError, NotFoundError } from '../domain/errors.ts';
import { EVERY_TEAM, type TeamScope, canSee } from '../domain/team-scope.ts';
import type { CommandDeps } from './deps.ts';
import { type NamePage, type NamePageQuery, ownerTeam, pageByName, written } from './records.ts';

export interface NewToken {
  name: string;
  scopes: Scope[];
  /** null: organisation-wide (only an organisation-wide creator may make one); absent: the creator's team. */
  teamId: string | null | undefined;
  expiresAt: Date | null;
}

/** Who creates a token: another token (through the API), or an operator at the CLI. */
export type TokenCreator = { tokenId: string; scope: TeamScope } | { via: string };

export interface CreatedToken {
  /** The whole token: shown once, never stored. */
  token: string;
  record: ApiToken;
}

export async function createToken(deps: CommandDeps, input: NewToken, creator: TokenCreator): Promise<CreatedToken> {
  const now = deps.clock.now();
  if (input.expiresAt !== null && input.expiresAt.getTime() <= now.getTime()) {
    throw new InvalidInputError([{ field: 'expires_at', rule: 'future', message: 'must be in the future' }]);
  }
  const secret = generateToken();
  const row = await inTransaction(deps.pool, async (client) => {
    // A team's admin makes tokens for its own team only.
    const teamId = await ownerTeam(client, 'scope' in creator ? creator.scope : EVERY_TEAM, input.teamId);
    return written(
      await run<TokenRow>(client, sql('tokens-insert'), [
        secret.publicId,
        secret.secretHash,
        input.name,
        [...new Set(input.scopes)],
        teamId,
        input.expiresAt,
        'tokenId' in creator ? creator.tokenId : null,
        'via' in creator ? creator.via : 'api',
        now,
      ]),
    );
  });
  return { token: secret.token, record: toApiToken(row) };
}

/**
 * Stores the admin token an operator put in the environment (KLAXON_ADMIN_TOKEN), so a
 * fresh deployment has a first token without the CLI. Idempotent; a token revoked
 * since stays revoked (a restart must not bring it back), and a different token
 * under the same public id is refused.
 */
export async function ensureEnvironmentToken(deps: CommandDeps, token: string): Promise<'created' | 'present' | 'revoked'> {
  const parsed = parseToken(token);
  if (!parsed)
    throw new Error('KLAXON_ADMIN_TOKEN is not a klaxon token (klx_<12 characters>_<43 characters>); make one with `npm run -s cli -- token generate`');
  const secretHash = hashSecret(parsed.secret);
  const [inserted] = await run<TokenRow>(deps.pool, sql('tokens-insert-if-absent'), [
    parsed.publicId,
    secretHash,
    'admin (from the environment)',
    ['admin'],
    'environment',
    deps.clock.now(),
  ]);
  if (inserted) return 'created';
  const [existing] = await run<TokenRow>(deps.pool, sql('tokens-by-public-id'), [parsed.publicId]);
  if (!existing || !existing.secret_hash.equals(secretHash)) {
    throw new Error('KLAXON_ADMIN_TOKEN has the public id of another stored token; generate a new one');
  }
  return existing.revoked_at === null ? 'present' : 'revoked';
}

/** A fresh token that is not stored (for KLAXON_ADMIN_TOKEN). */
export function newTokenString(): NewTokenSecret['token'] {
  return generateToken().token;
}

export async function listTokens(db: Queryable, scope: TeamScope, page: NamePageQuery): Promise<NamePage<ApiToken>> {
  return pageByName<TokenRow & { sort_key: string }, ApiToken>(db, sql('tokens-list'), page, (rows) => rows.map(toApiToken), [scope.teamId]);
}

export async function getToken(db: Queryable, scope: TeamScope, id: string): Promise<ApiToken> {
  const [row] = await run<TokenRow>(db, sql('tokens-get'), [id]);
  if (!row || !canSee(scope, row.team_id)) throw new NotFoundError('token', id);
  return toApiToken(row);
}

/**
 * The id of the token with this public id (an operator names tokens so); with its
 * secret too (a whole token was given), only if the secret matches, so a mistyped token
 * finds nothing.
 */
export async function tokenIdByPublicId(db: Queryable, publicId: string, secret: string | null): Promise<string> {
  const [row] = await run<TokenRow>(db, sql('tokens-by-public-id'), [publicId]);
  if (!row || (secret !== null && !hashesMatch(hashSecret(secret), row.secret_hash))) {
    throw new NotFoundError('token with public id', publicId);
  }
  return row.id;
}

/**
 * Revokes a token at once: the API processes hear of it when it commits
 * (src/auth/revocations.ts), and the next request with it is refused. Revoking twice
 * is harmless (and announced again).
 */
export async function revokeToken(deps: CommandDeps, scope: TeamScope, id: string): Promise<ApiToken> {
  // One transaction, like every change (the API's audit row joins it).
  return inTransaction(deps.pool, async (client) => {
    await getToken(client, scope, id);
    const [row] = await run<TokenRow>(client, sql('tokens-revoke'), [id, deps.clock.now(), TOKEN_REVOKED_CHANNEL]);
    if (!row) throw new NotFoundError('token', id);
    return toApiToken(row);
  });
}
