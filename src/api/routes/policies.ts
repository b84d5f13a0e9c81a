/** /escalation-policies: create, list, read, replace (PUT, a new version), delete. */
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
  levels: { delay: string; targets: { type: (typeof TARGET_TYPES)[number]; id: string }[] }[];
}

const validatePolicyBody = compileBody<PolicyBody>(policyBody);

function toInput(body: PolicyBody): PolicyInput {
  return { name: body.name, description: body.description, repeatCount: body.repeat_count ?? 0, levels: body.levels };
}

export function presentPolicy(policy: Policy) {
  return {
    id: policy.id,
    name: policy.name,
    description: policy.description,
    repeat_count: policy.repeatCount,
    version: policy.version,
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
    const policy = await createPolicy(deps, toInput(validBody(ctx, validatePolicyBody)));
    ctx.status = 201;
    ctx.set('Location', `/escalation-policies/${policy.id}`);
    ctx.body = presentPolicy(policy);
  });

  router.get('/', async (ctx) => {
    const page = await listPolicies(deps.pool, pageRequest(ctx));
    ctx.body = { items: page.items.map(presentPolicy), next_cursor: page.next ? encodeKeyCursor(page.next) : null };
  });

  router.get('/:id', async (ctx) => {
    ctx.body = presentPolicy(await getPolicy(deps.pool, pathId(ctx, 'id')));
  });

  router.put('/:id', async (ctx) => {
    const id = pathId(ctx, 'id');
    ctx.body = presentPolicy(await replacePolicy(deps, id, toInput(validBody(ctx, validatePolicyBody))));
  });

  router.delete('/:id', async (ctx) => {
    await deletePolicy(deps, pathId(ctx, 'id'));
    ctx.status = 204;
  });

  return router;
}
