/**
 * Services: create, read, list, edit, delete. A service's incidents follow its
 * escalation policy (null: the default policy). A service with incidents cannot be
 * deleted: incidents are kept for the audit trail and refer to their service.
 * A service belongs to a team (or to nobody: organisation-wide); its policy must be
 * its team's. Its team does not change.
 */
import type pg from 'pg';
import { type Queryable, run, sql } from '../db/queries.ts';
import { inTransaction } from '../db/transaction.ts';
import { type Service, ServiceHasIncidentsError, ServiceHasIntegrationKeysError, type Usage } from '../domain/people.ts';
import type { TeamScope } from '../domain/team-scope.ts';
import type { CommandDeps } from './deps.ts';
import { type NamePage, type NamePageQuery, assertExist, assertUnique, ownerTeam, pageByName, visibleOrNotFound, USAGES_NAMED, written } from './records.ts';

interface ServiceRow {
  id: string;
  name: string;
  description: string | null;
  escalation_policy_id: string | null;
  team_id: string | null;
  auto_escalate: boolean;
  created_at: Date;
  updated_at: Date;
}

function toService(row: ServiceRow): Service {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    escalationPolicyId: row.escalation_policy_id,
    teamId: row.team_id,
    autoEscalate: row.auto_escalate,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface ServiceChanges {
  name?: string | undefined;
  /** null clears it. */
  description?: string | null | undefined;
  /** null: the default policy. */
  escalationPolicyId?: string | null | undefined;
  /** Whether incidents that alerts open escalate at once (absent on create: true). */
  autoEscalate?: boolean | undefined;
}

export type NewService = ServiceChanges & {
  name: string;
  /** The owning team (absent: the caller's team, or organisation-wide for an organisation-wide caller). */
  teamId?: string | null | undefined;
};

/** Checks a service's name and policy, within its team, before a write (`serviceId` null: a new service). */
async function checkService(client: pg.PoolClient, changes: ServiceChanges, serviceId: string | null, teamId: string | null): Promise<void> {
  await assertUnique(client, sql('services-name-taken'), 'service', 'name', changes.name, serviceId, [teamId]);
  const policy = changes.escalationPolicyId ? [{ field: 'escalation_policy_id', id: changes.escalationPolicyId }] : [];
  await assertExist(client, sql('services-existing-policies'), 'escalation policy', policy, { teamId });
}

export async function createService(deps: CommandDeps, scope: TeamScope, input: NewService): Promise<Service> {
  return inTransaction(deps.pool, async (client) => {
    const teamId = await ownerTeam(client, scope, input.teamId);
    await checkService(client, input, null, teamId);
    const rows = await run<ServiceRow>(client, sql('services-insert'), [
      input.name,
      input.description ?? null,
      input.escalationPolicyId ?? null,
      deps.clock.now(),
      teamId,
      input.autoEscalate ?? true,
    ]);
    return toService(written(rows));
  });
}

export async function getService(db: Queryable, scope: TeamScope, id: string): Promise<Service> {
  return toService(await visibleOrNotFound<ServiceRow>(db, sql('services-get'), scope, 'service', id));
}

/** Services by name (case-insensitively), then id; a team's caller sees its team's. */
export async function listServices(db: Queryable, scope: TeamScope, page: NamePageQuery): Promise<NamePage<Service>> {
  return pageByName<ServiceRow & { sort_key: string }, Service>(db, sql('services-list'), page, (rows) => rows.map(toService), [scope.teamId]);
}

/** Changes the fields given; the others stay. */
export async function updateService(deps: CommandDeps, scope: TeamScope, id: string, changes: ServiceChanges): Promise<Service> {
  return inTransaction(deps.pool, async (client) => {
    const locked = await visibleOrNotFound<ServiceRow>(client, sql('services-lock'), scope, 'service', id);
    await checkService(client, changes, id, locked.team_id);
    const columns = {
      name: changes.name,
      description: changes.description,
      escalation_policy_id: changes.escalationPolicyId,
      auto_escalate: changes.autoEscalate,
    };
    const rows = await run<ServiceRow>(client, sql('services-update'), [id, JSON.stringify(columns), deps.clock.now()]);
    return toService(written(rows));
  });
}

export async function deleteService(deps: CommandDeps, scope: TeamScope, id: string): Promise<void> {
  await inTransaction(deps.pool, async (client) => {
    // The lock makes an incident opened for the service meanwhile wait, then fail.
    await visibleOrNotFound<ServiceRow>(client, sql('services-lock'), scope, 'service', id);
    const incidents = await run<Usage & { total: number }>(client, sql('services-usages'), [id, USAGES_NAMED]);
    const [newest] = incidents;
    if (newest)
      throw new ServiceHasIncidentsError(
        incidents.map(({ kind, id: incidentId, name }) => ({ kind, id: incidentId, name })),
        newest.total,
      );
    // Keys are never deleted (integration_keys.service_id is ON DELETE RESTRICT).
    const keys = await run<{ id: string; name: string }>(client, sql('integration-key-list'), [null, null, USAGES_NAMED, id]);
    if (keys.length > 0) throw new ServiceHasIntegrationKeysError(keys.map((key) => ({ kind: 'integration key', id: key.id, name: key.name })));
    await run(client, sql('services-delete'), [id]);
  });
}
