/**
 * Which team's objects a caller may see and change. Services, escalation policies,
 * schedules and incidents belong to a team, or to nobody (organisation-wide, teamId
 * null). An organisation-wide caller (teamId null: an organisation-wide token, the
 * CLI, the worker) sees everything; a team's caller sees only its team's objects,
 * and everything else answers as if it did not exist.
 */
export interface TeamScope {
  readonly teamId: string | null;
}

export const EVERY_TEAM: TeamScope = Object.freeze({ teamId: null });

export function canSee(scope: TeamScope, ownerTeamId: string | null): boolean {
  return scope.teamId === null || scope.teamId === ownerTeamId;
}

/**
 * Whether an object owned by `ownerTeamId` may refer to one owned by `referencedTeamId`:
 * a team's objects refer only to that team's (so a team never depends on what it
 * cannot see); an organisation-wide object may refer to any.
 */
export function mayRefer(ownerTeamId: string | null, referencedTeamId: string | null): boolean {
  return ownerTeamId === null || ownerTeamId === referencedTeamId;
}
