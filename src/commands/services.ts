/**
 * Services: create, read, list, edit, delete. A service's incidents follow its
 * escalation policy (null: the default policy). A service with incidents cannot be
 * deleted: incidents are kept for the audit trail and refer to their service.
 */
import type pg from 'pg';
import { type Queryable, run, sql } from '../db/queries.ts';
import { inTransaction } from '../db/transaction.ts';
import { type Service, ServiceHasIncidentsError, type Usage } from '../domain/people.ts';
import type { CommandDeps } from './deps.ts';
import {
  type NamePage,
  type NamePageQuery,
  assertExist,
  assertUnique,
  oneOrNotFound,
  pageByName,
  USAGES_NAMED,
  written,
} from './records.ts';

interface ServiceRow {
  id: string;
  name: string;
  description: string | null;
  escalation_policy_id: string | null;
  created_at: Date;
  updated_at: Date;
}

function toService(row: ServiceRow): Service {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    escalationPolicyId: row.escalation_policy_id,
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
}

export type NewService = ServiceChanges & { name: string };

/** Checks a service's name and policy before a write (`serviceId` null: a new service). */
async function checkService(client: pg.PoolClient, changes: ServiceChanges, serviceId: string | null): Promise<void> {
  await assertUnique(client, sql('services-name-taken'), 'service', 'name', changes.name, serviceId);
  const policy = changes.escalationPolicyId ? [{ field: 'escalation_policy_id', id: changes.escalationPolicyId }] : [];
  await assertExist(client, sql('services-existing-policies'), 'escalation policy', policy);
}

export async function createService(deps: CommandDeps, input: NewService): Promise<Service> {
  return inTransaction(deps.pool, async (client) => {
    await checkService(client, input, null);
    const rows = await run<ServiceRow>(client, sql('services-insert'), [
      input.name,
      input.description ?? null,
      input.escalationPolicyId ?? null,
      deps.clock.now(),
    ]);
    return toService(written(rows));
  });
}

export async function getService(db: Queryable, id: string): Promise<Service> {
  return toService(await oneOrNotFound<ServiceRow>(db, sql('services-get'), 'service', id));
}

/** Services by name (case-insensitively), then id. */
export async function listServices(db: Queryable, page: NamePageQuery): Promise<NamePage<Service>> {
  return pageByName<ServiceRow & { sort_key: string }, Service>(db, sql('services-list'), page, (rows) => rows.map(toService));
}

/** Changes the fields given; the others stay. */
export async function updateService(deps: CommandDeps, id: string, changes: ServiceChanges): Promise<Service> {
  return inTransaction(deps.pool, async (client) => {
    await oneOrNotFound(client, sql('services-lock'), 'service', id);
    await checkService(client, changes, id);
    const columns = {
      name: changes.name,
      description: changes.description,
      escalation_policy_id: changes.escalationPolicyId,
    };
    const rows = await run<ServiceRow>(client, sql('services-update'), [id, JSON.stringify(columns), deps.clock.now()]);
    return toService(written(rows));
  });
}

export async function deleteService(deps: CommandDeps, id: string): Promise<void> {
  await inTransaction(deps.pool, async (client) => {
    // The lock makes an incident opened for the service meanwhile wait, then fail.
    await oneOrNotFound(client, sql('services-lock'), 'service', id);
    const incidents = await run<Usage & { total: number }>(client, sql('services-usages'), [id, USAGES_NAMED]);
    const [newest] = incidents;
    if (newest) throw new ServiceHasIncidentsError(incidents.map(({ kind, id: incidentId, name }) => ({ kind, id: incidentId, name })), newest.total);
    await run(client, sql('services-delete'), [id]);
  });
}
