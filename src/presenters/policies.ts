/** Escalation policies as the API shows them (the view is the answer's schema). */
import type { Policy } from '../domain/policy.ts';
import { formatDuration } from '../domain/durations.ts';
import { TARGET_TYPES } from '../domain/policy.ts';
import { CHANNEL_KINDS } from '../domain/notifications.ts';
import { Nullable, type Static, StringEnum, Type, Uuid } from '../schema/types.ts';
import { iso, timestamps } from './common.ts';

export const PolicyView = Type.Object(
  {
    id: Uuid(),
    name: Type.String(),
    description: Nullable(Type.String()),
    repeat_count: Type.Integer(),
    version: Type.Integer({ description: 'Bumped by every replacement; incidents keep the version they froze' }),
    team_id: Nullable(Uuid({ description: 'null: organisation-wide' })),
    levels: Type.Array(
      Type.Object({
        level: Type.Integer(),
        delay: Type.String({ examples: ['5m', '0s'] }),
        delay_ms: Type.Integer(),
        targets: Type.Array(Type.Object({ type: StringEnum(TARGET_TYPES), id: Uuid(), name: Type.String() })),
        channels: Nullable(
          Type.Array(StringEnum(CHANNEL_KINDS), { description: "The channels this level uses, overriding each person's rules; null: their rules" }),
        ),
      }),
    ),
    ...timestamps(),
  },
  { title: 'Policy' },
);

export function presentPolicy(policy: Policy): Static<typeof PolicyView> {
  return {
    id: policy.id,
    name: policy.name,
    description: policy.description,
    repeat_count: policy.repeatCount,
    version: policy.version,
    team_id: policy.teamId,
    levels: policy.levels.map((level) => ({
      level: level.level,
      // 0 pages at once: written as the API takes it, `0s`.
      delay: level.delayMs === 0 ? '0s' : formatDuration(level.delayMs),
      delay_ms: level.delayMs,
      targets: level.targets.map(({ type, id, name }) => ({ type, id, name })),
      channels: level.channels,
    })),
    created_at: iso(policy.createdAt),
    updated_at: iso(policy.updatedAt),
  };
}
