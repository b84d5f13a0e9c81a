/**
 * /users, /teams, /services. People and teams are shared by every team: any token
 * with `read` reads them (a team's token sees its own team only under /teams), and
 * only an organisation-wide admin changes them. Services belong to a team.
 */
import { createService, deleteService, getService, listServices, updateService } from '../../commands/services.ts';
import { createTeam, deleteTeam, getTeam, listTeams, updateTeam } from '../../commands/teams.ts';
import { createUser, deleteUser, getUser, listUsers, updateUser } from '../../commands/users.ts';
import { ServiceView, TeamView, UserView, presentService, presentTeam, presentUser } from '../../presenters/people.ts';
import { Formatted, Nullable, type Static, type TProperties, Type, Uuid } from '../../schema/types.ts';
import type { Endpoint } from '../endpoint.ts';
import { Name, TeamId, assertDistinct } from './fields.ts';
import { recordEndpoints } from './records.ts';

/** The create schema (the fields, `required` ones required) and the edit schema (any of them, at least one). */
function createAndEdit<C extends TProperties, E extends TProperties>(title: string, create: C, edit: E) {
  return {
    create: Type.Object(create, { additionalProperties: false, title: `Create${title}Body` }),
    edit: Type.Partial(Type.Object(edit), { additionalProperties: false, minProperties: 1, title: `Edit${title}Body` }),
  };
}

const userFields = {
  name: Name(),
  email: Formatted('email', { minLength: 3, maxLength: 320 }),
  phone: Type.Optional(Nullable(Formatted('e164'))),
  time_zone: Type.Optional(Formatted('time-zone', { minLength: 1, maxLength: 64, description: 'IANA; stored under its canonical name. Default: UTC' })),
  // The stop-paging notices (issue 11): plain fields of the person, so one PATCH sets them.
  notify_on_acknowledged: Type.Optional(Type.Boolean({ description: 'Tell them when an incident they were paged for is acknowledged. Default: true' })),
  notify_on_resolved: Type.Optional(Type.Boolean({ description: 'Tell them when an incident they were paged for is resolved. Default: true' })),
};
const userBodies = createAndEdit('User', userFields, userFields);

function userInput<B extends Partial<Static<typeof userBodies.create>>>(body: B) {
  return {
    name: body.name,
    email: body.email,
    phone: body.phone,
    timeZone: body.time_zone,
    notifyOnAcknowledged: body.notify_on_acknowledged,
    notifyOnResolved: body.notify_on_resolved,
  };
}

const teamFields = {
  name: Name(),
  member_ids: Type.Optional(Type.Array(Uuid(), { uniqueItems: true, maxItems: 500, description: 'Replaces the members, in this order' })),
};
const teamBodies = createAndEdit('Team', teamFields, teamFields);

const serviceFields = {
  name: Name(),
  description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
  escalation_policy_id: Type.Optional(Nullable(Uuid({ description: 'null or absent: the default policy' }))),
  auto_escalate: Type.Optional(Type.Boolean({ description: 'Incidents that alerts open start escalating at once; absent on create: true' })),
};
// A service's team is chosen when it is made, and never changes.
const serviceBodies = createAndEdit('Service', { ...serviceFields, team_id: Type.Optional(TeamId()) }, serviceFields);

const organisationAdmin = { scope: 'admin', teams: 'organisation' } as const;

export const peopleEndpoints: readonly Endpoint[] = [
  ...recordEndpoints({
    prefix: '/users',
    noun: 'user',
    createBody: userBodies.create,
    editBody: userBodies.edit,
    view: UserView,
    present: presentUser,
    writes: organisationAdmin,
    deleteNote: '409 in_use while a policy, schedule or team names them',
    create: (deps, _caller, body) => createUser(deps, { ...userInput(body), name: body.name, email: body.email }),
    list: (deps, _caller, page) => listUsers(deps.pool, page),
    get: (deps, _caller, id) => getUser(deps.pool, id),
    update: (deps, _caller, id, body) => updateUser(deps, id, userInput(body)),
    remove: (deps, _caller, id) => deleteUser(deps, id),
  }),
  ...recordEndpoints({
    prefix: '/teams',
    noun: 'team',
    createBody: teamBodies.create,
    editBody: teamBodies.edit,
    view: TeamView,
    present: presentTeam,
    writes: organisationAdmin,
    deleteNote: '409 in_use while it owns records or tokens',
    create: (deps, _caller, body) => {
      assertDistinct(body.member_ids, 'member_ids');
      return createTeam(deps, { name: body.name, memberIds: body.member_ids });
    },
    list: (deps, caller, page) => listTeams(deps.pool, caller, page),
    get: (deps, caller, id) => getTeam(deps.pool, caller, id),
    update: (deps, _caller, id, body) => {
      assertDistinct(body.member_ids, 'member_ids');
      return updateTeam(deps, id, { name: body.name, memberIds: body.member_ids });
    },
    remove: (deps, _caller, id) => deleteTeam(deps, id),
  }),
  ...recordEndpoints({
    prefix: '/services',
    noun: 'service',
    createBody: serviceBodies.create,
    editBody: serviceBodies.edit,
    view: ServiceView,
    present: presentService,
    writes: { scope: 'write', teams: 'any-team' },
    deleteNote: '409 in_use while it has incidents or integration keys',
    create: (deps, caller, body) =>
      createService(deps, caller, {
        name: body.name,
        description: body.description,
        escalationPolicyId: body.escalation_policy_id,
        autoEscalate: body.auto_escalate,
        teamId: body.team_id,
      }),
    list: (deps, caller, page) => listServices(deps.pool, caller, page),
    get: (deps, caller, id) => getService(deps.pool, caller, id),
    update: (deps, caller, id, body) =>
      updateService(deps, caller, id, {
        name: body.name,
        description: body.description,
        escalationPolicyId: body.escalation_policy_id,
        autoEscalate: body.auto_escalate,
      }),
    remove: (deps, caller, id) => deleteService(deps, caller, id),
  }),
];
