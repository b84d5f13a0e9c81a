import type Koa from 'koa';
import { isUuid } from '../domain/ids.ts';
import { validationProblem } from './problem.ts';


/** A path id, or a 400 naming the parameter (a malformed id is the caller's mistake, not a 404). */
export function pathId(ctx: Koa.Context, name: string): string {
  const value = (ctx.params as Record<string, string | undefined>)[name] ?? '';
  if (!isUuid(value)) {
    throw validationProblem('path', [{ field: name, rule: 'format', message: 'must be a UUID' }]);
  }
  return value.toLowerCase();
}
