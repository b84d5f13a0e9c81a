/**
 * /escalation-policies: create, list, read, replace (PUT, a new version), delete. A
 * team's token works on its team's policies only; another team's answer 404.
 */
import { Router } from '@koa/router';
import {
  type Policy,
  type PolicyInput,
  createPolicy,
  deletePolicy,
  getPolicy,
  listPolicies,
  replacePolicy,
} from '../../commands/policies.ts';
import type { CommandDeps } from '../../commands/deps.ts';
import { principalOf } from '../access.ts';
import { formatDuration } from '../../config/units.ts';
import { MAX_POLICY_LEVELS, MAX_REPEAT_COUNT, TARGET_TYPES } from '../../domain/policy.ts';
import { encodeKeyCursor } from '../cursor.ts';
import { pathId } from '../ids.ts';
import { UUID_PATTERN } from '../schemas.ts';
import { pageRequest } from '../records.ts';
import { compileBody, validBody } from '../validate.ts';


export const policyBody = {
  $id: 'policyBody',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'levels'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
    description: { type: ['string', 'null'], maxLength: 2000 },
    repeat_count: { type: 'integer', minimum: 0, maximum: MAX_REPEAT_COUNT },
    // Creating: absent, the caller's team (organisation-wide for an organisation-wide
    // caller). Replacing: absent or the policy's team, which never changes.
    team_id: { type: 'string', pattern: UUID_PATTERN, nullable: true },
    levels: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_POLICY_LEVELS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['delay', 'targets'],
        properties: {
          delay: { type: 'string', pattern: '^[0-9]+(ms|s|m|h|d)$' },
          targets: {
            type: 'array',
            minItems: 1,
            maxItems: 20,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['type', 'id'],
              properties: { type: { enum: TARGET_TYPES }, id: { type: 'string', pattern: UUID_PATTERN } },
            },
          },
        },
      },
    },
  },
} as const;

interface PolicyBody {
  name: string;
  description?: string | null;
  repeat_count?: number;
  team_id?: string | null;
  levels: { delay: string; targets: { type: (typeof TARGET_TYPES)[number]; id: string }[] }[];
}

const validatePolicyBody = compileBody<PolicyBody>(policyBody);

function toInput(body: PolicyBody): PolicyInput {
  return {
    name: body.name,
    description: body.description,
    repeatCount: body.repeat_count ?? 0,
    levels: body.levels,
    teamId: body.team_id === undefined ? undefined : (body.team_id?.toLowerCase() ?? null),
  };
}

export function presentPolicy(policy: Policy) {
  return {
    id: policy.id,
    name: policy.name,
    description: policy.description,
    repeat_count: policy.repeatCount,
    version: policy.version,
    team_id: policy.teamId,
    levels: policy.levels.map((level) => ({
      level: level.level,
      delay: formatDuration(level.delayMs),
      delay_ms: level.delayMs,
      targets: level.targets,
    })),
    created_at: policy.createdAt.toISOString(),
    updated_at: policy.updatedAt.toISOString(),
  };
}

export function policyRoutes(deps: CommandDeps): Router {
  const router = new Router({ prefix: '/escalation-policies' });

  router.post('/', async (ctx) => {
    const policy = await createPolicy(deps, principalOf(ctx), toInput(validBody(ctx, validatePolicyBody)));
    ctx.status = 201;
    ctx.set('Location', `/escalation-policies/${policy.id}`);
    ctx.body = presentPolicy(policy);
  });

  router.get('/', async (ctx) => {
    const page = await listPolicies(deps.pool, principalOf(ctx), pageRequest(ctx));
    ctx.body = { items: page.items.map(presentPolicy), next_cursor: page.next ? encodeKeyCursor(page.next) : null };
  });

  router.get('/:id', async (ctx) => {
    ctx.body = presentPolicy(await getPolicy(deps.pool, principalOf(ctx), pathId(ctx, 'id')));
  });

  router.put('/:id', async (ctx) => {
    const id = pathId(ctx, 'id');
    ctx.body = presentPolicy(await replacePolicy(deps, principalOf(ctx), id, toInput(validBody(ctx, validatePolicyBody))));
  });

  router.delete('/:id', async (ctx) => {
    await deletePolicy(deps, principalOf(ctx), pathId(ctx, 'id'));
    ctx.status = 204;
  });

  return router;
}
