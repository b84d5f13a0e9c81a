/**
 * Integration keys of a service (issue 12; `write` scope to make and revoke, `read` to
 * list): create (the key is in the answer, once), list (hints only), revoke (POST: the
 * row stays, for the alert log). A team's token works on its team's services only;
 * another team's service answers 404, as /services does.
 */
import { actorLabel } from '../../auth/principal.ts';
import { createIntegrationKey, listIntegrationKeys, revokeIntegrationKey } from '../../commands/integration-keys.ts';
import { CreatedIntegrationKeyView, IntegrationKeyView, presentIntegrationKey } from '../../presenters/integration-keys.ts';
import { Nullable, Page, Type } from '../../schema/types.ts';
import { type Endpoint, endpoint } from '../endpoint.ts';
import { Name } from './fields.ts';
import { PageQuery, namePage, presentNamePage } from './pages.ts';

const TAG = 'integration-keys';

/** integration_keys' CHECK on the per-key rate. */
const Rate = (description: string) => Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 100_000, description })));

const CreateIntegrationKeyBody = Type.Object(
  {
    name: Name(),
    rate_per_minute: Rate('Sustained alerts a minute; absent or null: INTAKE_RATE_PER_MINUTE (default 120)'),
    rate_burst: Rate('Alerts at once after a quiet spell; absent or null: INTAKE_RATE_BURST (default 240)'),
    signing_secret: Type.Optional(
      Nullable(
        Type.String({
          minLength: 16,
          maxLength: 200,
          // No control characters (validator.ts words the refusal). The length is in the pattern
          // too, so a generator drawing from it (the fuzz test's) draws long enough strings.
          pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f]{16,200}$',
          description: "Grafana's webhook HMAC secret: requests to /integrations/grafana/:key must then be signed with it. Never shown again",
        }),
      ),
    ),
  },
  { additionalProperties: false, title: 'CreateIntegrationKeyBody' },
);

export const integrationKeyEndpoints: readonly Endpoint[] = [
  endpoint({
    method: 'POST',
    path: '/services/:id/integration-keys',
    tag: TAG,
    summary: 'Create an integration (routing) key for a service (the answer holds the key, once)',
    scope: 'write',
    body: CreateIntegrationKeyBody,
    response: { status: 201, schema: CreatedIntegrationKeyView },
    handler: async ({ params, body, principal }, deps) => {
      const created = await createIntegrationKey(
        deps,
        principal,
        { serviceId: params.id, name: body.name, ratePerMinute: body.rate_per_minute, rateBurst: body.rate_burst, signingSecret: body.signing_secret },
        actorLabel(principal),
      );
      return { ...presentIntegrationKey(created.record), key: created.key };
    },
  }),
  endpoint({
    method: 'GET',
    path: '/services/:id/integration-keys',
    tag: TAG,
    summary: "List a service's integration keys by name, revoked ones too (hints only, never the keys)",
    scope: 'read',
    query: PageQuery,
    response: { status: 200, schema: Page(IntegrationKeyView) },
    handler: async ({ params, query, principal }, deps) =>
      presentNamePage(await listIntegrationKeys(deps.pool, principal, params.id, namePage(query)), presentIntegrationKey),
  }),
  endpoint({
    method: 'POST',
    path: '/integration-keys/:id/revoke',
    tag: TAG,
    summary: 'Revoke an integration key at once (it stays listed, with revoked_at; revoking again answers the first revocation)',
    scope: 'write',
    response: { status: 200, schema: IntegrationKeyView },
    handler: async ({ params, principal }, deps) => {
      const key = await revokeIntegrationKey(deps, principal, params.id, actorLabel(principal));
      // This process takes alerts with it no more, before the answer (others hear the NOTIFY).
      deps.integrationKeys.forget(key.id);
      return presentIntegrationKey(key);
    },
  }),
];
