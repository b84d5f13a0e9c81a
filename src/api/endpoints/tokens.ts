/**
 * /tokens (admin scope): create (the token is in the answer, once), list, read, revoke
 * (DELETE: the row stays, for the audit log). A team's admin works on its team's
 * tokens only.
 */
import { SCOPES } from '../../domain/scopes.ts';
import { createToken, getToken, listTokens, revokeToken } from '../../commands/tokens.ts';
import { CreatedTokenView, TokenView, presentToken } from '../../presenters/tokens.ts';
import { toInstant } from '../../schema/formats.ts';
import { Instant, Nullable, Page, StringEnum, Type } from '../../schema/types.ts';
import { type Endpoint, endpoint } from '../endpoint.ts';
import { Name, TeamId } from './fields.ts';
import { PageQuery, namePage, presentNamePage } from './pages.ts';

const TAG = 'tokens';

const CreateTokenBody = Type.Object(
  {
    name: Name(),
    scopes: Type.Array(StringEnum(SCOPES), { minItems: 1, maxItems: SCOPES.length, uniqueItems: true }),
    team_id: Type.Optional(TeamId()),
    expires_at: Type.Optional(Nullable(Instant({ description: 'Absent or null: never expires' }))),
  },
  { additionalProperties: false, title: 'CreateTokenBody' },
);

export const tokenEndpoints: readonly Endpoint[] = [
  endpoint({
    method: 'POST',
    path: '/tokens',
    tag: TAG,
    summary: 'Create an API token (the answer holds the token, once)',
    scope: 'admin',
    body: CreateTokenBody,
    response: { status: 201, schema: CreatedTokenView },
    problems: [422],
    handler: async ({ body, principal, ctx }, deps) => {
      const created = await createToken(
        deps,
        { name: body.name, scopes: body.scopes, teamId: body.team_id, expiresAt: body.expires_at ? toInstant(body.expires_at) : null },
        { tokenId: principal.tokenId, scope: principal },
      );
      ctx.set('Location', `/tokens/${created.record.id}`);
      return { ...presentToken(created.record), token: created.token };
    },
  }),
  endpoint({
    method: 'GET',
    path: '/tokens',
    tag: TAG,
    summary: 'List API tokens by name (never their secrets)',
    scope: 'admin',
    query: PageQuery,
    response: { status: 200, schema: Page(TokenView) },
    handler: async ({ query, principal }, deps) => presentNamePage(await listTokens(deps.pool, principal, namePage(query)), presentToken),
  }),
  endpoint({
    method: 'GET',
    path: '/tokens/:id',
    tag: TAG,
    summary: 'Read an API token',
    scope: 'admin',
    response: { status: 200, schema: TokenView },
    handler: async ({ params, principal }, deps) => presentToken(await getToken(deps.pool, principal, params.id)),
  }),
  endpoint({
    method: 'DELETE',
    path: '/tokens/:id',
    tag: TAG,
    summary: 'Revoke an API token at once (it stays listed, with revoked_at)',
    scope: 'admin',
    response: { status: 204 },
    handler: async ({ params, principal }, deps) => {
      await revokeToken(deps, principal, params.id);
      // This process accepts it no more, not even during a database outage.
      deps.authenticator.forget(params.id);
    },
  }),
];
