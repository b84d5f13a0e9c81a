/**
 * Who may call what, in one table read top to bottom (first match wins), so a review
 * of the API's permissions is a review of this file. Every route needs a token
 * except the health probes (load balancers and orchestrators call them without one).
 * The OpenAPI document states the same requirement per operation (src/api/openapi.ts).
 */
import type Koa from 'koa';
import type { Principal } from '../auth/principal.ts';
import { type Scope, grants } from '../auth/scopes.ts';

/**
 * `public`: no token; `any`: any valid token; `organisation-admin`: an admin token of
 * no team (what every team shares); otherwise the scope the token needs.
 */
export type Access = 'public' | 'any' | 'organisation-admin' | Scope;

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** GET, HEAD and OPTIONS read; every other method writes (and needs a writing scope, and is audited). */
export function isReadMethod(method: string): boolean {
  return READ_METHODS.has(method.toUpperCase());
}

interface Rule {
  /** The path, or a prefix ending in `/` that also matches the path without it. */
  path: string;
  /** Reading (GET, HEAD, OPTIONS) and writing (the rest) may differ. */
  read: Access;
  write: Access;
}

const RULES: readonly Rule[] = [
  { path: '/healthz', read: 'public', write: 'public' },
  { path: '/readyz', read: 'public', write: 'public' },
  // The API's own description: any token, whatever its scopes.
  { path: '/openapi.json', read: 'any', write: 'any' },
  { path: '/docs', read: 'any', write: 'any' },
  // Organisation-wide figures, for a scraper's token that should see nothing else.
  { path: '/metrics', read: 'metrics', write: 'metrics' },
  { path: '/stats', read: 'metrics', write: 'metrics' },
  // Tokens are keys: only admins see or make them.
  { path: '/tokens/', read: 'admin', write: 'admin' },
  // People and teams are shared by every team: anyone reads them (a team's token sees
  // its own team only), organisation-wide admins change them.
  { path: '/users/', read: 'read', write: 'organisation-admin' },
  { path: '/teams/', read: 'read', write: 'organisation-admin' },
];

function matches(rule: Rule, path: string): boolean {
  if (!rule.path.endsWith('/')) return path === rule.path;
  return path === rule.path.slice(0, -1) || path.startsWith(rule.path);
}

/** Whether a token may make a request that needs `access` (beyond `public`). */
export function permits(principal: Principal, access: Exclude<Access, 'public'>): boolean {
  if (access === 'any') return true;
  if (access === 'organisation-admin') return principal.teamId === null && grants(principal.scopes, 'admin');
  return grants(principal.scopes, access);
}

export function accessFor(method: string, path: string): Access {
  const reading = isReadMethod(method);
  const rule = RULES.find((candidate) => matches(candidate, path));
  if (rule) return reading ? rule.read : rule.write;
  // Services, policies, schedules, incidents and whatever comes next.
  return reading ? 'read' : 'write';
}

/** The caller, once the authentication middleware has accepted the request's token; else undefined. */
export function principalIfAny(ctx: Koa.Context): Principal | undefined {
  return ctx.state.principal as Principal | undefined;
}

/** The caller of an authenticated request (the authentication middleware put it there). */
export function principalOf(ctx: Koa.Context): Principal {
  const principal = principalIfAny(ctx);
  if (!principal) throw new Error(`${ctx.method} ${ctx.path} reached a route without a principal`);
  return principal;
}
