/**
 * /tokens (admin scope): create (the token is in the answer, once), list, read, revoke
 * (DELETE: the row stays, for the audit log). A team's admin works on its team's
 * tokens only.
 */
import { Router } from '@koa/router';
import type { CommandDeps } from '../../commands/deps.ts';
import { createToken, getToken, listTokens, revokeToken } from '../../commands/tokens.ts';
import { presentToken } from '../presenters.ts';
import { principalOf } from '../access.ts';
import { encodeKeyCursor } from '../cursor.ts';
import { pathId } from '../ids.ts';
import { instant } from '../instants.ts';
import { pageRequest } from '../records.ts';
import { validTokenBody } from '../schemas/tokens.ts';
import { validBody } from '../validate.ts';

export function tokenRoutes(deps: CommandDeps): Router {
  const router = new Router({ prefix: '/tokens' });

  router.post('/', async (ctx) => {
    const principal = principalOf(ctx);
    const body = validBody(ctx, validTokenBody);
    const created = await createToken(
      deps,
      {
        name: body.name,
        scopes: body.scopes,
        teamId: body.team_id?.toLowerCase() ?? null,
        expiresAt: body.expires_at ? instant(body.expires_at, 'expires_at', 'body') : null,
      },
      { tokenId: principal.tokenId, scope: principal },
    );
    ctx.status = 201;
    ctx.set('Location', `/tokens/${created.record.id}`);
    // Shown once: a cache or proxy must not keep it.
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...presentToken(created.record), token: created.token };
  });

  router.get('/', async (ctx) => {
    const page = await listTokens(deps.pool, principalOf(ctx), pageRequest(ctx));
    ctx.body = { items: page.items.map(presentToken), next_cursor: page.next ? encodeKeyCursor(page.next) : null };
  });

  router.get('/:id', async (ctx) => {
    ctx.body = presentToken(await getToken(deps.pool, principalOf(ctx), pathId(ctx, 'id')));
  });

  router.delete('/:id', async (ctx) => {
    await revokeToken(deps, principalOf(ctx), pathId(ctx, 'id'));
    ctx.status = 204;
  });

  return router;
}
