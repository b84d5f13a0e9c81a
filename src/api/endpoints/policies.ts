/**
 * /escalation-policies: create, list, read, replace (PUT: a new version), delete. A
 * team's token works on its team's policies only; another team's answer 404.
 */
import { type PolicyInput, createPolicy, deletePolicy, getPolicy, listPolicies, replacePolicy } from '../../commands/policies.ts';
import { CHANNEL_KINDS } from '../../domain/notifications.ts';
import { MAX_POLICY_LEVELS, MAX_REPEAT_COUNT, TARGET_TYPES } from '../../domain/policy.ts';
import { PolicyView, presentPolicy } from '../../presenters/policies.ts';
import { Nullable, Page, type Static, StringEnum, Type, Uuid } from '../../schema/types.ts';
import { type Endpoint, endpoint } from '../endpoint.ts';
import { Name, TeamId } from './fields.ts';
import { PageQuery, namePage, presentNamePage } from './pages.ts';

const TAG = 'escalation-policies';

const PolicyBody = Type.Object(
  {
    name: Name(),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
    repeat_count: Type.Optional(
      Type.Integer({ minimum: 0, maximum: MAX_REPEAT_COUNT, description: 'Runs through the levels again this many times (default 0)' }),
    ),
    team_id: Type.Optional(TeamId()),
    levels: Type.Array(
      Type.Object(
        {
          delay: Type.String({
            pattern: '^[0-9]+(ms|s|m|h|d)$',
            description: 'After the previous level fired (the first: after escalation started); 0s pages at once, else 1s to 7d',
          }),
          targets: Type.Array(Type.Object({ type: StringEnum(TARGET_TYPES), id: Uuid() }, { additionalProperties: false }), { minItems: 1, maxItems: 20 }),
          channels: Type.Optional(
            Nullable(
              Type.Array(StringEnum(CHANNEL_KINDS), {
                minItems: 1,
                maxItems: CHANNEL_KINDS.length,
                uniqueItems: true,
                description:
                  "The channels this level uses, overriding each person's own rules: every usable method of those kinds at once (a person with none of them falls back to their rules). Absent or null: their rules",
              }),
            ),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_POLICY_LEVELS },
    ),
  },
  { additionalProperties: false, title: 'PolicyBody' },
);

function toInput(body: Static<typeof PolicyBody>): PolicyInput {
  return { name: body.name, description: body.description, repeatCount: body.repeat_count ?? 0, levels: body.levels, teamId: body.team_id };
}

export const policyEndpoints: readonly Endpoint[] = [
  endpoint({
    method: 'POST',
    path: '/escalation-policies',
    tag: TAG,
    summary: 'Create an escalation policy',
    scope: 'write',
    body: PolicyBody,
    response: { status: 201, schema: PolicyView },
    problems: [409, 422],
    handler: async ({ body, principal, ctx }, deps) => {
      const policy = await createPolicy(deps, principal, toInput(body));
      ctx.set('Location', `/escalation-policies/${policy.id}`);
      return presentPolicy(policy);
    },
  }),
  endpoint({
    method: 'GET',
    path: '/escalation-policies',
    tag: TAG,
    summary: 'List escalation policies by name',
    scope: 'read',
    query: PageQuery,
    response: { status: 200, schema: Page(PolicyView) },
    handler: async ({ query, principal }, deps) => presentNamePage(await listPolicies(deps.pool, principal, namePage(query)), presentPolicy),
  }),
  endpoint({
    method: 'GET',
    path: '/escalation-policies/:id',
    tag: TAG,
    summary: 'Read an escalation policy',
    scope: 'read',
    response: { status: 200, schema: PolicyView },
    handler: async ({ params, principal }, deps) => presentPolicy(await getPolicy(deps.pool, principal, params.id)),
  }),
  endpoint({
    method: 'PUT',
    path: '/escalation-policies/:id',
    tag: TAG,
    summary: 'Replace an escalation policy (a new version)',
    scope: 'write',
    body: PolicyBody,
    response: { status: 200, schema: PolicyView },
    problems: [409, 422],
    handler: async ({ params, body, principal }, deps) => presentPolicy(await replacePolicy(deps, principal, params.id, toInput(body))),
  }),
  endpoint({
    method: 'DELETE',
    path: '/escalation-policies/:id',
    tag: TAG,
    summary: 'Delete an escalation policy (409 in_use while a service or live incident uses it)',
    scope: 'write',
    response: { status: 204 },
    problems: [409],
    handler: async ({ params, principal }, deps) => {
      await deletePolicy(deps, principal, params.id);
    },
  }),
];
