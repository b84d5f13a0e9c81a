/**
 * Teams: create, read, list, edit, delete. A team's members are users, in the order
 * given; editing `memberIds` replaces the list. A team an escalation policy targets
 * cannot be deleted.
 */
import type pg from 'pg';
import { type Queryable, run, sql } from '../db/queries.ts';
import { inTransaction } from '../db/transaction.ts';
import type { Team, TeamMember } from '../domain/people.ts';
import { type TeamScope, canSee } from '../domain/team-scope.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { CommandDeps } from './deps.ts';
import { type NamePage, type NamePageQuery, assertExist, assertUnique, assertUnused, oneOrNotFound, pageByName, written } from './records.ts';

interface TeamRow {
  id: string;
  name: string;
  created_at: Date;
  updated_at: Date;
}

interface MemberRow extends TeamMember {
  team_id: string;
}

/** The teams of these rows, with their members (one query for them all). */
async function withMembers(db: Queryable, rows: TeamRow[]): Promise<Team[]> {
  if (rows.length === 0) return [];
  const members = await run<MemberRow>(db, sql('teams-members'), [rows.map((row) => row.id)]);
  const byTeam = new Map<string, TeamMember[]>(rows.map((row) => [row.id, []]));
  for (const { team_id: teamId, id, name, email } of members) byTeam.get(teamId)?.push({ id, name, email });
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    members: byTeam.get(row.id) ?? [],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }));
}

async function withMembersOf(db: Queryable, row: TeamRow): Promise<Team> {
  const [team] = await withMembers(db, [row]);
  if (!team) throw new Error(`team ${row.id} has no answer`);
  return team;
}

export interface TeamChanges {
  name?: string | undefined;
  /** User ids in order, no duplicates; replaces the member list. */
  memberIds?: string[] | undefined;
}

export type NewTeam = TeamChanges & { name: string };

/** Checks a team's name and members before a write (`teamId` null: a new team). */
async function checkTeam(client: pg.PoolClient, changes: TeamChanges, teamId: string | null): Promise<void> {
  await assertUnique(client, sql('teams-name-taken'), 'team', 'name', changes.name, teamId);
  const members = (changes.memberIds ?? []).map((id, index) => ({ field: `member_ids.${index}`, id }));
  await assertExist(client, sql('users-existing'), 'user', members);
}

export async function createTeam(deps: CommandDeps, input: NewTeam): Promise<Team> {
  return inTransaction(deps.pool, async (client) => {
    await checkTeam(client, input, null);
    const team = written(await run<TeamRow>(client, sql('teams-insert'), [input.name, deps.clock.now()]));
    await run(client, sql('teams-add-members'), [team.id, input.memberIds ?? []]);
    return withMembersOf(client, team);
  });
}

export async function getTeam(db: Queryable, scope: TeamScope, id: string): Promise<Team> {
  // A team's caller sees its own team, and no other.
  if (!canSee(scope, id)) throw new NotFoundError('team', id);
  return withMembersOf(db, await oneOrNotFound<TeamRow>(db, sql('teams-get'), 'team', id));
}

/** Teams by name (case-insensitively), then id, each with its members. */
export async function listTeams(db: Queryable, scope: TeamScope, page: NamePageQuery): Promise<NamePage<Team>> {
  return pageByName<TeamRow & { sort_key: string }, Team>(db, sql('teams-list'), page, (rows) => withMembers(db, rows), [scope.teamId]);
}

/** Renames the team and/or replaces its member list. */
export async function updateTeam(deps: CommandDeps, id: string, changes: TeamChanges): Promise<Team> {
  return inTransaction(deps.pool, async (client) => {
    await oneOrNotFound(client, sql('teams-lock'), 'team', id);
    await checkTeam(client, changes, id);
    const team = written(await run<TeamRow>(client, sql('teams-update'), [id, changes.name ?? null, deps.clock.now()]));
    if (changes.memberIds) {
      await run(client, sql('teams-clear-members'), [id]);
      await run(client, sql('teams-add-members'), [id, changes.memberIds]);
    }
    return withMembersOf(client, team);
  });
}

/** Deletes a team and its member list; the users stay. */
export async function deleteTeam(deps: CommandDeps, id: string): Promise<void> {
  await inTransaction(deps.pool, async (client) => {
    await oneOrNotFound(client, sql('teams-lock'), 'team', id);
    await assertUnused(client, sql('teams-usages'), 'team', id);
    await run(client, sql('teams-delete'), [id]);
  });
}
