/** Who is calling: the token that authenticated the request. */
import type { TeamScope } from '../domain/team-scope.ts';
import type { Scope } from '../domain/scopes.ts';

export interface Principal extends TeamScope {
  tokenId: string;
  publicId: string;
  name: string;
  scopes: readonly Scope[];
}

/** How the principal appears in the audit log and in incident events (never the secret). */
export function actorLabel(principal: Principal): string {
  return `token ${principal.publicId} (${principal.name})`;
}
