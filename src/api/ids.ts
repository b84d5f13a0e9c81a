import type Koa from 'koa';
import { validationProblem } from './problem.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** A path id, or a 400 naming the parameter (a malformed id is the caller's mistake, not a 404). */
export function pathId(ctx: Koa.Context, name: string): string {
  const value = (ctx.params as Record<string, string | undefined>)[name] ?? '';
  if (!isUuid(value)) {
    throw validationProblem('path', [{ field: name, rule: 'format', message: 'must be a UUID' }]);
  }
  return value.toLowerCase();
}
