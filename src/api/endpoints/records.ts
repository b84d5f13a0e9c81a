/**
 * The five endpoints /users, /teams and /services share: create (201 + Location),
 * list by name (a page), read, edit (PATCH: the fields given, at least one), delete
 * (204). One description of the resource makes all five declarations.
 */
import type { Principal } from '../../auth/principal.ts';
import type { NamePage, NamePageQuery } from '../../commands/records.ts';
import { Page, type Static, type TSchema } from '../../schema/types.ts';
import type { AppDeps } from '../deps.ts';
import { type Endpoint, type TeamRule, endpoint } from '../endpoint.ts';
import { PageQuery, namePage, presentNamePage } from './pages.ts';

export interface RecordResource<T extends { id: string }, Create extends TSchema, Edit extends TSchema, View extends TSchema> {
  /** `/users`. */
  prefix: '/users' | '/teams' | '/services';
  /** `user`, for the summaries. */
  noun: string;
  createBody: Create;
  editBody: Edit;
  view: View;
  present: (record: T) => Static<View>;
  /** Who may create, edit and delete (any token with `read` reads). */
  writes: { scope: 'write' | 'admin'; teams: TeamRule };
  /** Summaries' extra words, e.g. what deleting one needs. */
  deleteNote: string;
  create: (deps: AppDeps, caller: Principal, body: Static<Create>) => Promise<T>;
  list: (deps: AppDeps, caller: Principal, page: NamePageQuery) => Promise<NamePage<T>>;
  get: (deps: AppDeps, caller: Principal, id: string) => Promise<T>;
  update: (deps: AppDeps, caller: Principal, id: string, body: Static<Edit>) => Promise<T>;
  remove: (deps: AppDeps, caller: Principal, id: string) => Promise<void>;
}

export function recordEndpoints<T extends { id: string }, Create extends TSchema, Edit extends TSchema, View extends TSchema>(
  resource: RecordResource<T, Create, Edit, View>,
): Endpoint[] {
  const { prefix, noun, view, writes } = resource;
  // TypeBox cannot relate Static<View> to the answer's type while View is generic; the
  // resource's `present` is checked against its concrete view where it is declared.
  const present = (record: T) => resource.present(record) as never;
  const tag = prefix.slice(1);
  const item = `${prefix}/:id` as const;
  return [
    endpoint({
      method: 'POST',
      path: prefix,
      tag,
      summary: `Create a ${noun}`,
      ...writes,
      body: resource.createBody,
      response: { status: 201, schema: view },
      problems: [409, 422],
      handler: async ({ body, principal, ctx }, deps) => {
        const record = await resource.create(deps, principal, body);
        ctx.set('Location', `${prefix}/${record.id}`);
        return present(record);
      },
    }),
    endpoint({
      method: 'GET',
      path: prefix,
      tag,
      summary: `List ${tag} by name`,
      scope: 'read',
      query: PageQuery,
      response: { status: 200, schema: Page(view) },
      handler: async ({ query, principal }, deps) => presentNamePage(await resource.list(deps, principal, namePage(query)), present) as never,
    }),
    endpoint({
      method: 'GET',
      path: item,
      tag,
      summary: `Read a ${noun}`,
      scope: 'read',
      response: { status: 200, schema: view },
      handler: async ({ params, principal }, deps) => present(await resource.get(deps, principal, params.id)),
    }),
    endpoint({
      method: 'PATCH',
      path: item,
      tag,
      summary: `Edit a ${noun} (the fields given)`,
      ...writes,
      body: resource.editBody,
      response: { status: 200, schema: view },
      problems: [409, 422],
      handler: async ({ params, body, principal }, deps) => present(await resource.update(deps, principal, params.id, body)),
    }),
    endpoint({
      method: 'DELETE',
      path: item,
      tag,
      summary: `Delete a ${noun} (${resource.deleteNote})`,
      ...writes,
      response: { status: 204 },
      problems: [409],
      handler: async ({ params, principal }, deps) => {
        await resource.remove(deps, principal, params.id);
      },
    }),
  ];
}
