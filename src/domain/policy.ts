/**
 * Escalation policies as the engine follows them: ordered levels, each with its
 * delay and its targets, and a repeat count. An incident follows a frozen copy (a
 * snapshot) taken when it starts escalating, so editing or deleting the policy
 * never changes a running escalation.
 */
import type { ChannelKind } from './notifications.ts';
import type { Timetable } from './timetable.ts';

export const TARGET_TYPES = ['user', 'schedule', 'team'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

export interface PolicyTarget {
  type: TargetType;
  id: string;
}

export interface PolicyLevel {
  /** After the previous level executed (level 1: after escalation started); 0 pages at once. */
  delayMs: number;
  targets: PolicyTarget[];
  /** The channels this level uses, overriding each person's own rules for it; null: their rules. */
  channels: ChannelKind[] | null;
}

export interface PolicySnapshot {
  /** Null for the default policy (the configured timetable, paging nobody). */
  policyId: string | null;
  name: string;
  version: number;
  repeatCount: number;
  levels: PolicyLevel[];
}

export const MAX_POLICY_LEVELS = 20;
export const MAX_REPEAT_COUNT = 20;

/** The configured seed timetable as a policy: the default for incidents with no service policy. */
export function defaultPolicy(levelDelaysMs: readonly number[]): PolicySnapshot {
  return {
    policyId: null,
    name: 'default',
    version: 0,
    repeatCount: 0,
    levels: levelDelaysMs.map((delayMs) => ({ delayMs, targets: [], channels: null })),
  };
}

/** The policy an incident follows: its frozen snapshot, or the default while it has none. */
export function followedPolicy(snapshotJson: unknown, defaultLevelDelaysMs: readonly number[]): PolicySnapshot {
  return snapshotJson ? snapshotFromJson(snapshotJson) : defaultPolicy(defaultLevelDelaysMs);
}

export function timetableOf(snapshot: PolicySnapshot): Timetable {
  return { levelDelaysMs: snapshot.levels.map((level) => level.delayMs), repeatCount: snapshot.repeatCount };
}

/** The snapshot as stored in incidents.policy_snapshot (snake_case JSON, readable from SQL). */
export function snapshotToJson(snapshot: PolicySnapshot): Record<string, unknown> {
  return {
    policy_id: snapshot.policyId,
    name: snapshot.name,
    version: snapshot.version,
    repeat_count: snapshot.repeatCount,
    levels: snapshot.levels.map((level) => ({ delay_ms: level.delayMs, targets: level.targets, channels: level.channels })),
  };
}

interface SnapshotJson {
  policy_id: string | null;
  name: string;
  version: number;
  repeat_count: number;
  // channels: absent in snapshots frozen before notifications existed.
  levels: { delay_ms: number; targets: PolicyTarget[]; channels?: ChannelKind[] | null }[];
}

export function snapshotFromJson(json: unknown): PolicySnapshot {
  const value = json as SnapshotJson;
  return {
    policyId: value.policy_id,
    name: value.name,
    version: value.version,
    repeatCount: value.repeat_count,
    levels: value.levels.map((level) => ({ delayMs: Number(level.delay_ms), targets: level.targets, channels: level.channels ?? null })),
  };
}

/** A target of a stored policy, with the name of what it names (for people reading it). */
export interface NamedTarget extends PolicyTarget {
  name: string;
}

/** A stored escalation policy, as its commands answer it. */
export interface Policy {
  id: string;
  name: string;
  description: string | null;
  repeatCount: number;
  version: number;
  /** null: organisation-wide. */
  teamId: string | null;
  levels: { level: number; delayMs: number; targets: NamedTarget[]; channels: ChannelKind[] | null }[];
  createdAt: Date;
  updatedAt: Date;
}
