/**
 * /teams: create, list (by name), read, edit (member_ids replaces the list), delete.
 */
import type { Router } from '@koa/router';
import type { CommandDeps } from '../../commands/deps.ts';
import { type TeamChanges, createTeam, deleteTeam, getTeam, listTeams, updateTeam } from '../../commands/teams.ts';
import { presentTeam } from '../presenters-people.ts';
import { recordRoutes } from '../records.ts';
import { type TeamBody, bodyRules } from '../schemas/people.ts';

/** The command's input; member ids in lower case, as Postgres writes UUIDs. */
function teamInput(body: Partial<TeamBody>): TeamChanges {
  return { name: body.name, memberIds: body.member_ids?.map((id) => id.toLowerCase()) };
}

export function teamRoutes(deps: CommandDeps): Router {
  return recordRoutes({
    prefix: '/teams',
    createRules: bodyRules.createTeam,
    editRules: bodyRules.editTeam,
    present: presentTeam,
    // A team's caller sees its own team only; changes need an organisation-wide admin (access.ts).
    create: (_scope, body) => createTeam(deps, { ...teamInput(body), name: body.name }),
    list: (scope, page) => listTeams(deps.pool, scope, page),
    get: (scope, id) => getTeam(deps.pool, scope, id),
    update: (_scope, id, body) => updateTeam(deps, id, teamInput(body)),
    remove: (_scope, id) => deleteTeam(deps, id),
  });
}
