/**
 * Escalation policies: create, replace, read, delete, and the snapshot an incident
 * freezes when it starts escalating. Writes are one transaction each; a replacement
 * bumps the version and rewrites the levels, and never touches running incidents
 * (they follow their snapshot).
 *
 * A policy belongs to a team (or to nobody: organisation-wide) and pages only what its
 * team may refer to: users (shared by everyone), its team's schedules and its team
 * itself. Its team never changes. A caller sees only the policies of a team it sees.
 */
import type pg from 'pg';
import type { ChannelKind } from '../domain/notifications.ts';
import { DURATION_BOUNDS, durationWithin } from '../domain/durations.ts';
import { InUseError, InvalidInputError, NotFoundError, ReferenceNotFoundError, type FieldIssue } from '../domain/errors.ts';
import { type PolicyLevel, type PolicySnapshot, type PolicyTarget, type TargetType } from '../domain/policy.ts';
import { type TeamScope, canSee, mayRefer } from '../domain/team-scope.ts';
import { type Queryable, run, sql } from '../db/queries.ts';
import { inTransaction } from '../db/transaction.ts';
import type { CommandDeps } from './deps.ts';
import { type NamePage, type NamePageQuery, assertTeamUnchanged, assertUnique, ownerTeam, pageByName, visibleOrNotFound, written } from './records.ts';
import type { Policy } from '../domain/policy.ts';

export interface PolicyInput {
  name: string;
  description?: string | null | undefined;
  repeatCount: number;
  /** channels: the level's own channels, overriding each person's rules (absent or null: their rules). */
  levels: { delay: string; targets: PolicyTarget[]; channels?: ChannelKind[] | null | undefined }[];
  /**
   * Creating: the owning team (absent: the caller's team, or organisation-wide for an
   * organisation-wide caller). Replacing: absent, or the policy's own team.
   */
  teamId?: string | null | undefined;
}

interface PolicyRow {
  id: string;
  name: string;
  description: string | null;
  repeat_count: number;
  version: number;
  team_id: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A level's target as the queries read it (policy-levels-by-policies.sql, service-facts.sql). */
export interface LevelTargetRow {
  level: number | null;
  delay_ms: number | null;
  channels: ChannelKind[] | null;
  target_type: TargetType | null;
  target_id: string | null;
  target_name?: string | null;
}

interface LevelRow extends LevelTargetRow {
  policy_id: string;
  level: number;
  delay_ms: number;
}

export async function createPolicy(deps: CommandDeps, scope: TeamScope, input: PolicyInput): Promise<Policy> {
  const levels = checkLevels(input);
  return inTransaction(deps.pool, async (client) => {
    const teamId = await ownerTeam(client, scope, input.teamId);
    await assertUnique(client, sql('policies-name-taken'), 'escalation policy', 'name', input.name, null, [teamId]);
    await assertTargetsExist(client, levels, teamId);
    const row = written(
      await run<PolicyRow>(client, sql('policy-insert'), [input.name, input.description ?? null, input.repeatCount, deps.clock.now(), teamId]),
    );
    await writeLevels(client, row.id, levels);
    return (await loadPolicies(client, [row.id]))[0] as Policy;
  });
}

export async function replacePolicy(deps: CommandDeps, scope: TeamScope, id: string, input: PolicyInput): Promise<Policy> {
  const levels = checkLevels(input);
  return inTransaction(deps.pool, async (client) => {
    const locked = await visibleOrNotFound<PolicyRow>(client, sql('policy-lock'), scope, 'escalation policy', id);
    assertTeamUnchanged(locked.team_id, input.teamId);
    await assertUnique(client, sql('policies-name-taken'), 'escalation policy', 'name', input.name, id, [locked.team_id]);
    await assertTargetsExist(client, levels, locked.team_id);
    await run(client, sql('policy-update'), [id, input.name, input.description ?? null, input.repeatCount, deps.clock.now()]);
    await run(client, sql('policy-levels-delete'), [id]);
    await writeLevels(client, id, levels);
    return (await loadPolicies(client, [id]))[0] as Policy;
  });
}

export async function deletePolicy(deps: CommandDeps, scope: TeamScope, id: string): Promise<void> {
  await inTransaction(deps.pool, async (client) => {
    await visibleOrNotFound<PolicyRow>(client, sql('policy-lock'), scope, 'escalation policy', id);
    const usedBy = await run<{ kind: string; id: string; name: string }>(client, sql('policy-usage'), [id]);
    if (usedBy.length > 0) throw new InUseError('escalation policy', usedBy);
    await run(client, sql('policy-delete'), [id]);
  });
}

/** A policy of a team the caller sees; another team's answers as a missing one. */
export async function getPolicy(db: Queryable, scope: TeamScope, id: string): Promise<Policy> {
  const [policy] = await loadPolicies(db, [id]);
  if (!policy || !canSee(scope, policy.teamId)) throw new NotFoundError('escalation policy', id);
  return policy;
}

export async function listPolicies(db: Queryable, scope: TeamScope, page: NamePageQuery): Promise<NamePage<Policy>> {
  return pageByName<{ id: string; sort_key: string }, Policy>(
    db,
    sql('policies-list'),
    page,
    (rows) =>
      loadPolicies(
        db,
        rows.map((row) => row.id),
      ),
    [scope.teamId],
  );
}

/** A policy as incidents freeze it: its levels' delays, targets and channels, without names. */
export function snapshotOf(policy: Pick<Policy, 'id' | 'name' | 'version' | 'repeatCount' | 'levels'>): PolicySnapshot {
  return {
    policyId: policy.id,
    name: policy.name,
    version: policy.version,
    repeatCount: policy.repeatCount,
    levels: policy.levels.map((level) => ({
      delayMs: level.delayMs,
      targets: level.targets.map(({ type, id: targetId }) => ({ type, id: targetId })),
      channels: level.channels,
    })),
  };
}

/** Policies with their levels, in the order of `ids`. */
async function loadPolicies(db: Queryable, ids: string[]): Promise<Policy[]> {
  if (ids.length === 0) return [];
  const [rows, levelRows] = await Promise.all([run<PolicyRow>(db, sql('policies-by-ids'), [ids]), run<LevelRow>(db, sql('policy-levels-by-policies'), [ids])]);
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    if (!row) return [];
    const levels = levelsOf(levelRows.filter((r) => r.policy_id === id));
    return [
      {
        id: row.id,
        name: row.name,
        description: row.description,
        repeatCount: row.repeat_count,
        version: row.version,
        teamId: row.team_id,
        levels,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      },
    ];
  });
}

/**
 * A policy's levels from its level rows (one per target of each level, or per level
 * without targets, in level and position order; rows with a null level are skipped).
 */
export function levelsOf(rows: readonly LevelTargetRow[]): Policy['levels'] {
  const levels: Policy['levels'] = [];
  for (const row of rows) {
    if (row.level === null) continue;
    let level = levels.find((l) => l.level === row.level);
    if (!level) {
      level = { level: row.level, delayMs: Number(row.delay_ms), targets: [], channels: row.channels };
      levels.push(level);
    }
    if (row.target_type && row.target_id) level.targets.push({ type: row.target_type, id: row.target_id, name: row.target_name ?? '' });
  }
  return levels;
}

/** Rules the JSON schema cannot express: delays within bounds, no target twice in a level. */
function checkLevels(input: PolicyInput): PolicyLevel[] {
  const issues: FieldIssue[] = [];
  const levels = input.levels.map((level, index) => {
    const delay = durationWithin(level.delay, DURATION_BOUNDS.policyLevelDelay);
    if (!delay.ok) issues.push({ field: `levels.${index}.delay`, rule: delay.reason, message: delay.message });
    const delayMs = delay.ok ? delay.ms : 0;
    const seen = new Set<string>();
    level.targets.forEach((target, position) => {
      const key = `${target.type}:${target.id.toLowerCase()}`;
      if (seen.has(key)) {
        issues.push({
          field: `levels.${index}.targets.${position}`,
          rule: 'uniqueTarget',
          message: `${target.type} ${target.id} is already a target of this level`,
        });
      }
      seen.add(key);
    });
    // Each channel once, in the order given.
    const channels = level.channels ? [...new Set(level.channels)] : null;
    return { delayMs, targets: level.targets.map((t) => ({ type: t.type, id: t.id.toLowerCase() })), channels };
  });
  if (issues.length > 0) throw new InvalidInputError(issues);
  return levels;
}

/**
 * Every target exists and the policy's team may page it (users are everyone's; a
 * team's policy pages its team's schedules and its team only). One refused for
 * either reason is the same unknown reference, so no team learns of another's
 * records. The foreign keys and ON DELETE RESTRICT keep them from going away after.
 */
async function assertTargetsExist(client: pg.PoolClient, levels: PolicyLevel[], teamId: string | null): Promise<void> {
  const all = levels.flatMap((level) => level.targets);
  const idsOf = (type: TargetType) => all.filter((t) => t.type === type).map((t) => t.id);
  const existing = await run<{ type: TargetType; id: string; team_id: string | null }>(client, sql('targets-existing'), [
    idsOf('user'),
    idsOf('schedule'),
    idsOf('team'),
  ]);
  const usable = existing.filter((row) => row.type === 'user' || mayRefer(teamId, row.team_id));
  const found = new Set(usable.map((row) => `${row.type}:${row.id}`));
  const issues: FieldIssue[] = [];
  levels.forEach((level, index) =>
    level.targets.forEach((target, position) => {
      if (!found.has(`${target.type}:${target.id}`)) {
        issues.push({ field: `levels.${index}.targets.${position}.id`, rule: 'exists', message: `no ${target.type} with id ${target.id}` });
      }
    }),
  );
  if (issues.length > 0) throw new ReferenceNotFoundError(issues);
}

async function writeLevels(client: pg.PoolClient, policyId: string, levels: PolicyLevel[]): Promise<void> {
  await run(client, sql('policy-levels-insert'), [
    policyId,
    levels.map((_, i) => i + 1),
    levels.map((l) => l.delayMs),
    // One text per level (Postgres has no ragged arrays): the level's channels as a JSON array, or null.
    levels.map((l) => (l.channels ? JSON.stringify(l.channels) : null)),
  ]);
  const targets = levels.flatMap((level, i) => level.targets.map((target, position) => ({ level: i + 1, position, ...target })));
  if (targets.length === 0) return;
  await run(client, sql('policy-targets-insert'), [
    policyId,
    targets.map((t) => t.level),
    targets.map((t) => t.position),
    targets.map((t) => t.type),
    targets.map((t) => t.id),
  ]);
}
