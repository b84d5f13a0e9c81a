/**
 * Users: create, read, list, edit, delete. Each write is one transaction, stamped by
 * the injected clock. A user still named by a schedule or an escalation policy cannot
 * be deleted; deleting one takes them out of their teams.
 */
import { type Queryable, run, sql } from '../db/queries.ts';
import { inTransaction } from '../db/transaction.ts';
import type { User } from '../domain/people.ts';
import type { CommandDeps } from './deps.ts';
import { type NamePage, type NamePageQuery, assertUnique, assertUnused, oneOrNotFound, pageByName, written } from './records.ts';

interface UserRow {
  id: string;
  name: string;
  email: string;
  phone: string | null;
  time_zone: string;
  notify_on_acknowledged: boolean;
  notify_on_resolved: boolean;
  created_at: Date;
  updated_at: Date;
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    phone: row.phone,
    timeZone: row.time_zone,
    notifyOnAcknowledged: row.notify_on_acknowledged,
    notifyOnResolved: row.notify_on_resolved,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface UserChanges {
  name?: string | undefined;
  email?: string | undefined;
  /** null clears it. */
  phone?: string | null | undefined;
  timeZone?: string | undefined;
  notifyOnAcknowledged?: boolean | undefined;
  notifyOnResolved?: boolean | undefined;
}

export type NewUser = UserChanges & { name: string; email: string };

export async function createUser(deps: CommandDeps, input: NewUser): Promise<User> {
  return inTransaction(deps.pool, async (client) => {
    await assertUnique(client, sql('users-email-taken'), 'user', 'email', input.email, null);
    const rows = await run<UserRow>(client, sql('users-insert'), [
      input.name,
      input.email,
      input.phone ?? null,
      input.timeZone ?? 'UTC',
      deps.clock.now(),
      input.notifyOnAcknowledged ?? true,
      input.notifyOnResolved ?? true,
    ]);
    return toUser(written(rows));
  });
}

export async function getUser(db: Queryable, id: string): Promise<User> {
  return toUser(await oneOrNotFound<UserRow>(db, sql('users-get'), 'user', id));
}

/** Users by name (case-insensitively), then id. */
export async function listUsers(db: Queryable, page: NamePageQuery): Promise<NamePage<User>> {
  return pageByName<UserRow & { sort_key: string }, User>(db, sql('users-list'), page, (rows) => rows.map(toUser));
}

/** Changes the fields given; the others stay. */
export async function updateUser(deps: CommandDeps, id: string, changes: UserChanges): Promise<User> {
  return inTransaction(deps.pool, async (client) => {
    await oneOrNotFound(client, sql('users-lock'), 'user', id);
    await assertUnique(client, sql('users-email-taken'), 'user', 'email', changes.email, id);
    const columns = {
      name: changes.name,
      email: changes.email,
      phone: changes.phone,
      time_zone: changes.timeZone,
      notify_on_acknowledged: changes.notifyOnAcknowledged,
      notify_on_resolved: changes.notifyOnResolved,
    };
    const rows = await run<UserRow>(client, sql('users-update'), [id, JSON.stringify(columns), deps.clock.now()]);
    return toUser(written(rows));
  });
}

export async function deleteUser(deps: CommandDeps, id: string): Promise<void> {
  await inTransaction(deps.pool, async (client) => {
    // The lock makes a schedule or policy that names the user meanwhile wait, then fail.
    await oneOrNotFound(client, sql('users-lock'), 'user', id);
    await assertUnused(client, sql('users-usages'), 'user', id);
    await run(client, sql('users-delete'), [id]);
  });
}
