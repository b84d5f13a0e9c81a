/** What POST /tokens accepts. */
import { SCOPES, type Scope } from '../../auth/scopes.ts';
import { ISO_INSTANT, UUID_PATTERN } from '../schemas.ts';
import { compileBody } from '../validate.ts';

export const tokenBody = {
  $id: 'createTokenBody',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'scopes'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
    scopes: { type: 'array', items: { enum: [...SCOPES] }, minItems: 1, maxItems: SCOPES.length, uniqueItems: true },
    // Absent: the creator's team (an organisation-wide creator: organisation-wide).
    team_id: { type: 'string', pattern: UUID_PATTERN, nullable: true },
    // Absent or null: never expires.
    expires_at: { type: 'string', pattern: ISO_INSTANT, nullable: true },
  },
} as const;

export interface TokenBody {
  name: string;
  scopes: Scope[];
  team_id?: string | null;
  expires_at?: string | null;
}

export const validTokenBody = compileBody<TokenBody>(tokenBody);
