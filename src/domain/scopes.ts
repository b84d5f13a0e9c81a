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
