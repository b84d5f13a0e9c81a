/**
 * /users: create, list (by name), read, edit, delete.
 */
import type { Router } from '@koa/router';
import type { CommandDeps } from '../../commands/deps.ts';
import { type UserChanges, createUser, deleteUser, getUser, listUsers, updateUser } from '../../commands/users.ts';
import { presentUser } from '../presenters-people.ts';
import { recordRoutes } from '../records.ts';
import { type UserBody, bodyRules, canonicalTimeZone } from '../schemas/people.ts';

/** The command's input; the time zone under its canonical IANA name (the body rules checked it is one). */
function userInput(body: Partial<UserBody>): UserChanges {
  return {
    name: body.name,
    email: body.email,
    phone: body.phone,
    timeZone: body.time_zone === undefined ? undefined : canonicalTimeZone(body.time_zone),
  };
}

export function userRoutes(deps: CommandDeps): Router {
  return recordRoutes({
    prefix: '/users',
    createRules: bodyRules.createUser,
    editRules: bodyRules.editUser,
    present: presentUser,
    // People are shared by every team (access.ts: only organisation-wide admins change them).
    create: (_scope, body) => createUser(deps, { ...userInput(body), name: body.name, email: body.email }),
    list: (_scope, page) => listUsers(deps.pool, page),
    get: (_scope, id) => getUser(deps.pool, id),
    update: (_scope, id, body) => updateUser(deps, id, userInput(body)),
    remove: (_scope, id) => deleteUser(deps, id),
  });
}
