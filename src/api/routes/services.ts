/**
 * /services: create, list (by name), read, edit, delete.
 */
import type { Router } from '@koa/router';
import type { CommandDeps } from '../../commands/deps.ts';
import { type ServiceChanges, createService, deleteService, getService, listServices, updateService } from '../../commands/services.ts';
import { presentService } from '../presenters-people.ts';
import { recordRoutes } from '../records.ts';
import { type ServiceBody, bodyRules } from '../schemas/people.ts';

/** The command's input; a null or absent escalation_policy_id means the default policy. */
function serviceInput(body: Partial<ServiceBody>): ServiceChanges {
  return {
    name: body.name,
    description: body.description,
    escalationPolicyId: body.escalation_policy_id?.toLowerCase() ?? body.escalation_policy_id,
  };
}

export function serviceRoutes(deps: CommandDeps): Router {
  return recordRoutes({
    prefix: '/services',
    createRules: bodyRules.createService,
    editRules: bodyRules.editService,
    present: presentService,
    create: (scope, body) => createService(deps, scope, { ...serviceInput(body), name: body.name, teamId: body.team_id?.toLowerCase() }),
    list: (scope, page) => listServices(deps.pool, scope, page),
    get: (scope, id) => getService(deps.pool, scope, id),
    update: (scope, id, body) => updateService(deps, scope, id, serviceInput(body)),
    remove: (scope, id) => deleteService(deps, scope, id),
  });
}
