/** API tokens as the API and the CLI's --json show them: never the secret, never its hash. */
import { SCOPES } from '../domain/scopes.ts';
import type { ApiToken } from '../domain/tokens.ts';
import { Instant, Nullable, type Static, StringEnum, Type, Uuid } from '../schema/types.ts';
import { NullableInstant, iso } from './common.ts';

const tokenFields = {
  id: Uuid(),
  public_id: Type.String({ description: 'The part of the token after klx_ and before the secret; names it in logs' }),
  name: Type.String(),
  scopes: Type.Array(StringEnum(SCOPES)),
  team_id: Nullable(Uuid({ description: 'null: organisation-wide' })),
  expires_at: NullableInstant(),
  revoked_at: NullableInstant(),
  created_by: Nullable(Uuid({ description: 'The token that created it; null from the CLI or the environment' })),
  created_via: Type.String(),
  created_at: Instant(),
  last_used_at: Nullable(Instant({ description: 'Updated at most once a minute' })),
};

export const TokenView = Type.Object(tokenFields, { title: 'Token' });

export const CreatedTokenView = Type.Object(
  {
    ...tokenFields,
    token: Type.String({ description: 'The token itself: shown in this answer only, never again', examples: ['klx_3k9x0qz7m2ab_...'] }),
  },
  { title: 'CreatedToken' },
);

export function presentToken(token: ApiToken): Static<typeof TokenView> {
  return {
    id: token.id,
    public_id: token.publicId,
    name: token.name,
    scopes: token.scopes,
    team_id: token.teamId,
    expires_at: iso(token.expiresAt),
    revoked_at: iso(token.revokedAt),
    created_by: token.createdBy,
    created_via: token.createdVia,
    created_at: iso(token.createdAt),
    last_used_at: iso(token.lastUsedAt),
  };
}
