/**
 * What a token may do. `read` sees, `write` changes (and sees), `admin` also manages
 * people, teams and tokens, `metrics` reads /metrics and /stats (for a scraper that
 * should see nothing else). Which endpoint needs which scope is said in its declaration
 * (src/api/endpoints/).
 */
export const SCOPES = ['read', 'write', 'admin', 'metrics'] as const;
export type Scope = (typeof SCOPES)[number];

/** The scopes each scope carries with it. */
const IMPLIED: Readonly<Record<Scope, readonly Scope[]>> = {
  read: ['read'],
  write: ['write', 'read'],
  admin: ['admin', 'write', 'read', 'metrics'],
  metrics: ['metrics'],
};

export function grants(held: readonly Scope[], needed: Scope): boolean {
  return held.some((scope) => IMPLIED[scope].includes(needed));
}

/** Every scope `held` carries, expanded (to check that a new token asks for no more than its creator has). */
export function expandScopes(held: readonly Scope[]): Set<Scope> {
  return new Set(held.flatMap((scope) => IMPLIED[scope]));
}
