/**
 * The routes /users, /teams and /services share: create, list, read, edit and delete
 * one kind of record. They only validate, call a command, and present the result.
 */
import { Router } from '@koa/router';
import type Koa from 'koa';
import type { NamePage, NamePageQuery } from '../commands/records.ts';
import type { TeamScope } from '../domain/team-scope.ts';
import { principalOf } from './access.ts';
import { decodeKeyCursor, encodeKeyCursor } from './cursor.ts';
import { pathId } from './ids.ts';
import { type BodyRules, validListByNameQuery, validRecordBody } from './schemas/people.ts';
import { validQuery } from './validate.ts';

const DEFAULT_PAGE_SIZE = 50;

/** One kind of record: its path, body rules, presenter, and commands (given the caller's team scope). */
export interface RecordResource<T extends { id: string }, CreateBody, EditBody> {
  /** e.g. `/users`. */
  prefix: string;
  createRules: BodyRules<CreateBody>;
  editRules: BodyRules<EditBody>;
  present: (record: T) => unknown;
  create: (scope: TeamScope, body: CreateBody) => Promise<T>;
  list: (scope: TeamScope, page: NamePageQuery) => Promise<NamePage<T>>;
  get: (scope: TeamScope, id: string) => Promise<T>;
  update: (scope: TeamScope, id: string, body: EditBody) => Promise<T>;
  remove: (scope: TeamScope, id: string) => Promise<void>;
}

/**
 * POST / (201 + Location), GET / (`{items, next_cursor}`: `limit` 1-200, default 50,
 * and `cursor`), GET /:id, PATCH /:id, DELETE /:id (204).
 */
export function recordRoutes<T extends { id: string }, CreateBody, EditBody>(
  resource: RecordResource<T, CreateBody, EditBody>,
): Router {
  const router = new Router({ prefix: resource.prefix });

  router.post('/', async (ctx) => {
    const record = await resource.create(principalOf(ctx), validRecordBody(ctx, resource.createRules));
    ctx.status = 201;
    ctx.set('Location', `${resource.prefix}/${record.id}`);
    ctx.body = resource.present(record);
  });

  router.get('/', async (ctx) => {
    const page = await resource.list(principalOf(ctx), pageRequest(ctx));
    ctx.body = { items: page.items.map(resource.present), next_cursor: page.next ? encodeKeyCursor(page.next) : null };
  });

  router.get('/:id', async (ctx) => {
    ctx.body = resource.present(await resource.get(principalOf(ctx), pathId(ctx, 'id')));
  });

  router.patch('/:id', async (ctx) => {
    const id = pathId(ctx, 'id');
    ctx.body = resource.present(await resource.update(principalOf(ctx), id, validRecordBody(ctx, resource.editRules)));
  });

  router.delete('/:id', async (ctx) => {
    await resource.remove(principalOf(ctx), pathId(ctx, 'id'));
    ctx.status = 204;
  });

  return router;
}

/** The page a list request asks for (`limit`, `cursor`), validated. */
export function pageRequest(ctx: Koa.Context): NamePageQuery {
  const query = validQuery(ctx, validListByNameQuery);
  return {
    limit: query.limit ?? DEFAULT_PAGE_SIZE,
    after: query.cursor === undefined ? undefined : decodeKeyCursor(query.cursor),
  };
}
